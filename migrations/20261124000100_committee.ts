import type { Knex } from 'knex';
// knex treats every "?" in raw SQL as a binding, even with no bindings: the SQL below avoids "?".

/**
 * The loan committee: the monthly chair rotation, meetings with their attendance, agenda items
 * (one per application or fast-track ratification), the votes cast on them, and the two
 * approvals of a fast-tracked emergency loan. The loans table gains the approval columns: how and
 * when the loan was approved or rejected, and the ratification state of a fast-tracked loan.
 * Recusals are not stored as rows: they follow from the loan's parties, and each decided item
 * keeps the recusals and the tally it was decided on (items.recusals, items.tally).
 */
export async function up(knex: Knex): Promise<void> {
  await knex.raw(`
    -- The chair of each month: a committee user of the fund bound to a member (checked by the service).
    CREATE TABLE committee_rotation (
      fund_id        uuid NOT NULL REFERENCES funds (id),
      month          text NOT NULL CHECK (month ~ '^[0-9]{4}-(0[1-9]|1[0-2])$'),
      chair_user_id  uuid NOT NULL REFERENCES users (id),
      updated_by     uuid REFERENCES users (id),
      updated_at     timestamptz NOT NULL DEFAULT now(),
      PRIMARY KEY (fund_id, month)
    );

    CREATE TABLE committee_meetings (
      id             uuid PRIMARY KEY DEFAULT gen_random_uuid(),
      fund_id        uuid NOT NULL REFERENCES funds (id),
      -- Numbered per fund in the order meetings are convened: 1, 2, 3 …
      number         integer NOT NULL CHECK (number >= 1),
      held_on        date NOT NULL,
      chair_user_id  uuid NOT NULL REFERENCES users (id),
      created_by     uuid REFERENCES users (id),
      created_at     timestamptz NOT NULL DEFAULT now(),
      CONSTRAINT committee_meetings_fund_id_id_key UNIQUE (fund_id, id),
      CONSTRAINT committee_meetings_number_key UNIQUE (fund_id, number)
    );
    CREATE INDEX committee_meetings_held_on_idx ON committee_meetings (fund_id, held_on DESC, number DESC);

    -- Who of the committee was present, and which member each represented at the time.
    CREATE TABLE committee_attendance (
      fund_id      uuid NOT NULL,
      meeting_id   uuid NOT NULL,
      user_id      uuid NOT NULL REFERENCES users (id),
      member_id    uuid NOT NULL,
      recorded_by  uuid REFERENCES users (id),
      recorded_at  timestamptz NOT NULL DEFAULT now(),
      PRIMARY KEY (meeting_id, user_id),
      CONSTRAINT committee_attendance_meeting_fk FOREIGN KEY (fund_id, meeting_id)
        REFERENCES committee_meetings (fund_id, id),
      CONSTRAINT committee_attendance_member_fk FOREIGN KEY (fund_id, member_id) REFERENCES members (fund_id, id)
    );

    -- An agenda item: an application to decide, or a fast-tracked loan to ratify.
    CREATE TABLE committee_items (
      id                 uuid PRIMARY KEY DEFAULT gen_random_uuid(),
      fund_id            uuid NOT NULL,
      meeting_id         uuid NOT NULL,
      loan_id            uuid NOT NULL,
      position           integer NOT NULL CHECK (position >= 1),
      kind               text NOT NULL CHECK (kind IN ('application', 'ratification')),
      status             text NOT NULL DEFAULT 'open' CHECK (status IN (
                           'open', 'approved', 'rejected', 'ineligible', 'no_quorum', 'withdrawn',
                           'ratified', 'ratification_failed')),
      -- "<meeting date>-<n>", n counting the fund's resolutions of that date from 1.
      resolution_number  text CHECK (resolution_number ~ '^[0-9]{4}-[0-9]{2}-[0-9]{2}-[1-9][0-9]*$'),
      tally              jsonb,
      recusals           jsonb,
      failures           jsonb,
      decided_by         uuid REFERENCES users (id),
      decided_at         timestamptz,
      created_at         timestamptz NOT NULL DEFAULT now(),
      CONSTRAINT committee_items_fund_id_id_key UNIQUE (fund_id, id),
      CONSTRAINT committee_items_position_key UNIQUE (meeting_id, position),
      CONSTRAINT committee_items_resolution_key UNIQUE (fund_id, resolution_number),
      CONSTRAINT committee_items_meeting_fk FOREIGN KEY (fund_id, meeting_id) REFERENCES committee_meetings (fund_id, id),
      CONSTRAINT committee_items_loan_fk FOREIGN KEY (fund_id, loan_id) REFERENCES loans (fund_id, id),
      CONSTRAINT committee_items_kind_status CHECK (
        (kind = 'application' AND status IN ('open', 'approved', 'rejected', 'ineligible', 'no_quorum', 'withdrawn'))
        OR (kind = 'ratification' AND status IN ('open', 'no_quorum', 'ratified', 'ratification_failed'))
      ),
      -- A decision carries its tally, who took it and when; a resolution number iff the committee resolved.
      CONSTRAINT committee_items_decided CHECK (
        (status = 'open') = (decided_at IS NULL)
        AND (decided_at IS NULL) = (decided_by IS NULL)
        AND (resolution_number IS NOT NULL) = (status IN ('approved', 'rejected', 'ineligible', 'ratified', 'ratification_failed'))
        AND (failures IS NULL OR status = 'ineligible')
      )
    );
    -- A loan is on at most one open item at a time.
    CREATE UNIQUE INDEX committee_items_open_loan_key ON committee_items (fund_id, loan_id) WHERE status = 'open';
    CREATE INDEX committee_items_meeting_idx ON committee_items (fund_id, meeting_id, position);

    -- One vote per committee member (user) per item.
    CREATE TABLE committee_votes (
      id          uuid PRIMARY KEY DEFAULT gen_random_uuid(),
      -- The order votes were cast in, for the minutes (cast_at ties within a transaction's clock).
      seq         bigint GENERATED ALWAYS AS IDENTITY,
      fund_id     uuid NOT NULL,
      item_id     uuid NOT NULL,
      user_id     uuid NOT NULL REFERENCES users (id),
      member_id   uuid NOT NULL,
      vote        text NOT NULL CHECK (vote IN ('approve', 'reject', 'abstain')),
      comment     text CHECK (length(comment) BETWEEN 1 AND 2000),
      cast_at     timestamptz NOT NULL DEFAULT now(),
      CONSTRAINT committee_votes_one_per_user UNIQUE (item_id, user_id),
      CONSTRAINT committee_votes_item_fk FOREIGN KEY (fund_id, item_id) REFERENCES committee_items (fund_id, id),
      CONSTRAINT committee_votes_member_fk FOREIGN KEY (fund_id, member_id) REFERENCES members (fund_id, id)
    );

    -- Fast track: the month's chair and an administrator approve, each once, on the same fund day.
    CREATE TABLE fast_track_approvals (
      id           uuid PRIMARY KEY DEFAULT gen_random_uuid(),
      fund_id      uuid NOT NULL,
      loan_id      uuid NOT NULL,
      capacity     text NOT NULL CHECK (capacity IN ('chair', 'admin')),
      user_id      uuid NOT NULL REFERENCES users (id),
      approved_on  date NOT NULL,
      approved_at  timestamptz NOT NULL DEFAULT now(),
      CONSTRAINT fast_track_approvals_once_a_day UNIQUE (fund_id, loan_id, capacity, approved_on),
      CONSTRAINT fast_track_approvals_loan_fk FOREIGN KEY (fund_id, loan_id) REFERENCES loans (fund_id, id)
    );

    ALTER TABLE loans
      ADD COLUMN approved_at          timestamptz,
      ADD COLUMN approved_by          uuid REFERENCES users (id),
      ADD COLUMN approval_route       text CHECK (approval_route IN ('committee', 'fast_track')),
      ADD COLUMN approval_item_id     uuid,
      ADD COLUMN approval_hold_id     uuid REFERENCES holds (id),
      ADD COLUMN rejected_at          timestamptz,
      ADD COLUMN rejected_reason      text CHECK (length(rejected_reason) BETWEEN 1 AND 2000),
      ADD COLUMN rejection_item_id    uuid,
      ADD COLUMN fast_tracked         boolean NOT NULL DEFAULT false,
      ADD COLUMN ratification_status  text CHECK (ratification_status IN ('pending', 'ratified', 'failed')),
      ADD COLUMN ratification_item_id uuid,
      ADD CONSTRAINT loans_approval_item_fk FOREIGN KEY (fund_id, approval_item_id) REFERENCES committee_items (fund_id, id),
      ADD CONSTRAINT loans_rejection_item_fk FOREIGN KEY (fund_id, rejection_item_id) REFERENCES committee_items (fund_id, id),
      ADD CONSTRAINT loans_ratification_item_fk FOREIGN KEY (fund_id, ratification_item_id) REFERENCES committee_items (fund_id, id),
      -- An approval records how it was taken; a committee approval names its agenda item.
      ADD CONSTRAINT loans_approval_recorded CHECK (
        (approved_at IS NULL) = (approval_route IS NULL)
        AND (approval_route = 'committee') = (approval_item_id IS NOT NULL)
      ),
      ADD CONSTRAINT loans_rejected_recorded CHECK ((rejected_at IS NULL) OR status = 'rejected'),
      -- Only a fast-tracked loan waits for, passes or fails ratification.
      ADD CONSTRAINT loans_fast_track_ratification CHECK (
        fast_tracked = (ratification_status IS NOT NULL)
        AND (NOT fast_tracked OR approval_route = 'fast_track')
      );
    CREATE INDEX loans_ratification_idx ON loans (fund_id, ratification_status, number DESC)
      WHERE ratification_status IS NOT NULL;
  `);
}

export async function down(knex: Knex): Promise<void> {
  await knex.raw(`
    DROP INDEX IF EXISTS loans_ratification_idx;
    ALTER TABLE loans
      DROP CONSTRAINT IF EXISTS loans_fast_track_ratification,
      DROP CONSTRAINT IF EXISTS loans_rejected_recorded,
      DROP CONSTRAINT IF EXISTS loans_approval_recorded,
      DROP CONSTRAINT IF EXISTS loans_ratification_item_fk,
      DROP CONSTRAINT IF EXISTS loans_rejection_item_fk,
      DROP CONSTRAINT IF EXISTS loans_approval_item_fk,
      DROP COLUMN IF EXISTS ratification_item_id,
      DROP COLUMN IF EXISTS ratification_status,
      DROP COLUMN IF EXISTS fast_tracked,
      DROP COLUMN IF EXISTS rejection_item_id,
      DROP COLUMN IF EXISTS rejected_reason,
      DROP COLUMN IF EXISTS rejected_at,
      DROP COLUMN IF EXISTS approval_hold_id,
      DROP COLUMN IF EXISTS approval_item_id,
      DROP COLUMN IF EXISTS approval_route,
      DROP COLUMN IF EXISTS approved_by,
      DROP COLUMN IF EXISTS approved_at;
    DROP TABLE IF EXISTS fast_track_approvals, committee_votes, committee_items, committee_attendance,
      committee_meetings, committee_rotation;
  `);
}
