import type { Knex } from 'knex';
// knex treats every "?" in raw SQL as a binding, even with no bindings: the SQL below avoids "?".

/**
 * Joint guarantee groups (联保小组, docs/adr/0016-joint-guarantee-groups.md): 3–5 members, each
 * jointly and severally liable for the others' loans up to the group's limit. A group is proposed,
 * agreed by every member, approved by the committee (a motion: the item that decided it is named
 * here), and dissolved when members leave it below three. A loan names the group that backs it;
 * its guarantees from the group's other members name the group too, and foreign keys tie the loan,
 * the guarantee and the membership together.
 */
export async function up(knex: Knex): Promise<void> {
  await knex.raw(`
    CREATE TABLE joint_guarantee_groups (
      id                 uuid PRIMARY KEY DEFAULT gen_random_uuid(),
      fund_id            uuid NOT NULL REFERENCES funds (id),
      -- Numbered per fund in the order groups are proposed: 1, 2, 3 …
      number             integer NOT NULL CHECK (number >= 1),
      name               text NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
      limit_amount       numeric(20, 2) NOT NULL CHECK (limit_amount > 0),
      -- proposed → approved | rejected (committee) | declined (a member) | withdrawn; approved → dissolved.
      status             text NOT NULL DEFAULT 'proposed'
                           CHECK (status IN ('proposed', 'approved', 'rejected', 'declined', 'withdrawn', 'dissolved')),
      proposed_by        uuid NOT NULL REFERENCES users (id),
      -- The member whose user proposed it; null when an administrator did.
      proposer_member_id uuid,
      proposed_at        timestamptz NOT NULL,
      decision_item_id   uuid,
      decided_on         date,
      declined_at        timestamptz,
      withdrawn_at       timestamptz,
      withdrawn_by       uuid REFERENCES users (id),
      withdrawal_reason  text CHECK (length(withdrawal_reason) BETWEEN 1 AND 500),
      dissolved_on       date,
      created_at         timestamptz NOT NULL DEFAULT now(),
      updated_at         timestamptz NOT NULL DEFAULT now(),
      version            integer NOT NULL DEFAULT 1 CHECK (version >= 1),
      CONSTRAINT joint_guarantee_groups_fund_id_id_key UNIQUE (fund_id, id),
      CONSTRAINT joint_guarantee_groups_number_key UNIQUE (fund_id, number),
      CONSTRAINT joint_guarantee_groups_proposer_fk FOREIGN KEY (fund_id, proposer_member_id)
        REFERENCES members (fund_id, id),
      CONSTRAINT joint_guarantee_groups_decision_item_fk FOREIGN KEY (fund_id, decision_item_id)
        REFERENCES committee_items (fund_id, id),
      -- The committee decided exactly the groups it approved or rejected (and those dissolved since).
      CONSTRAINT joint_guarantee_groups_decided CHECK (
        (status IN ('approved', 'rejected', 'dissolved')) = (decision_item_id IS NOT NULL)
        AND (decision_item_id IS NULL) = (decided_on IS NULL)
      ),
      CONSTRAINT joint_guarantee_groups_declined CHECK ((status = 'declined') = (declined_at IS NOT NULL)),
      CONSTRAINT joint_guarantee_groups_withdrawn CHECK (
        (status = 'withdrawn') = (withdrawn_at IS NOT NULL)
        AND (withdrawn_at IS NULL) = (withdrawn_by IS NULL)
        AND (withdrawal_reason IS NULL OR withdrawn_at IS NOT NULL)
      ),
      CONSTRAINT joint_guarantee_groups_dissolved CHECK (
        (status = 'dissolved') = (dissolved_on IS NOT NULL) AND (dissolved_on IS NULL OR dissolved_on >= decided_on)
      )
    );
    CREATE INDEX joint_guarantee_groups_status_idx ON joint_guarantee_groups (fund_id, status, number DESC);

    -- The members of a group, each with its consent to the group; joined when the committee
    -- approves the group, left when it leaves (its row stays: the group's history).
    CREATE TABLE joint_guarantee_group_members (
      fund_id          uuid NOT NULL,
      group_id         uuid NOT NULL,
      member_id        uuid NOT NULL,
      -- The order the proposal named the members in.
      position         integer NOT NULL CHECK (position BETWEEN 1 AND 5),
      consent          text NOT NULL DEFAULT 'pending' CHECK (consent IN ('pending', 'accepted', 'declined')),
      decided_by       uuid REFERENCES users (id),
      decided_at       timestamptz,
      decline_reason   text CHECK (length(decline_reason) BETWEEN 1 AND 500),
      joined_on        date,
      left_on          date,
      left_by          uuid REFERENCES users (id),
      PRIMARY KEY (fund_id, group_id, member_id),
      CONSTRAINT joint_guarantee_group_members_position_key UNIQUE (fund_id, group_id, position),
      CONSTRAINT joint_guarantee_group_members_group_fk FOREIGN KEY (fund_id, group_id)
        REFERENCES joint_guarantee_groups (fund_id, id),
      CONSTRAINT joint_guarantee_group_members_member_fk FOREIGN KEY (fund_id, member_id) REFERENCES members (fund_id, id),
      -- A decision names who took it and when; only a decline has a reason.
      CONSTRAINT joint_guarantee_group_members_decided CHECK (
        (consent = 'pending') = (decided_at IS NULL)
        AND (decided_at IS NULL) = (decided_by IS NULL)
        AND (decline_reason IS NULL OR consent = 'declined')
      ),
      -- Only a member that agreed joins; only a member that joined leaves, not before it joined.
      CONSTRAINT joint_guarantee_group_members_joined CHECK (joined_on IS NULL OR consent = 'accepted'),
      CONSTRAINT joint_guarantee_group_members_left CHECK (
        (left_on IS NULL) = (left_by IS NULL) AND (left_on IS NULL OR (joined_on IS NOT NULL AND left_on >= joined_on))
      )
    );
    CREATE INDEX joint_guarantee_group_members_member_idx ON joint_guarantee_group_members (fund_id, member_id);

    -- A loan backed by a group: its borrower is one of the group's members.
    ALTER TABLE loans
      ADD COLUMN joint_group_id uuid,
      ADD CONSTRAINT loans_joint_group_member_fk FOREIGN KEY (fund_id, joint_group_id, borrower_member_id)
        REFERENCES joint_guarantee_group_members (fund_id, group_id, member_id),
      ADD CONSTRAINT loans_fund_id_id_joint_group_key UNIQUE (fund_id, id, joint_group_id);
    CREATE INDEX loans_joint_group_idx ON loans (fund_id, joint_group_id, number DESC) WHERE joint_group_id IS NOT NULL;

    -- A guarantee a group member gives as such: joint and several, the loan's own group, and a
    -- member of that group.
    ALTER TABLE loan_guarantees
      ADD COLUMN joint_group_id uuid,
      ADD CONSTRAINT loan_guarantees_joint_group_loan_fk FOREIGN KEY (fund_id, loan_id, joint_group_id)
        REFERENCES loans (fund_id, id, joint_group_id),
      ADD CONSTRAINT loan_guarantees_joint_group_member_fk FOREIGN KEY (fund_id, joint_group_id, guarantor_member_id)
        REFERENCES joint_guarantee_group_members (fund_id, group_id, member_id),
      ADD CONSTRAINT loan_guarantees_joint_group_type CHECK (joint_group_id IS NULL OR type = 'joint_and_several');
    CREATE INDEX loan_guarantees_joint_group_idx ON loan_guarantees (fund_id, joint_group_id, loan_id)
      WHERE joint_group_id IS NOT NULL;
  `);
}

export async function down(knex: Knex): Promise<void> {
  await knex.raw(`
    DROP INDEX IF EXISTS loan_guarantees_joint_group_idx;
    ALTER TABLE loan_guarantees
      DROP CONSTRAINT IF EXISTS loan_guarantees_joint_group_type,
      DROP CONSTRAINT IF EXISTS loan_guarantees_joint_group_member_fk,
      DROP CONSTRAINT IF EXISTS loan_guarantees_joint_group_loan_fk,
      DROP COLUMN IF EXISTS joint_group_id;
    DROP INDEX IF EXISTS loans_joint_group_idx;
    ALTER TABLE loans
      DROP CONSTRAINT IF EXISTS loans_fund_id_id_joint_group_key,
      DROP CONSTRAINT IF EXISTS loans_joint_group_member_fk,
      DROP COLUMN IF EXISTS joint_group_id;
    DROP TABLE IF EXISTS joint_guarantee_group_members, joint_guarantee_groups;
  `);
}
