import type { Knex } from 'knex';

/**
 * The check that every entry balances runs twice per entry, at the end of the statement that
 * inserts its postings and at commit, both while the entry's balance rows are locked. It read the
 * book of each posting's account through a join, and the plan PL/pgSQL keeps for it hashed every
 * account of every fund to find two: a fund with a thousand sub-accounts spent most of its check
 * there. Each posting now looks its account up by primary key (a lateral subquery, kept from being
 * merged into a join by its LIMIT). The rules and their errors are unchanged.
 */
const CHECK_HEAD = `CREATE OR REPLACE FUNCTION huzhu_assert_entry_balanced(target uuid) RETURNS void LANGUAGE plpgsql AS $$
    DECLARE
      facts record;
    BEGIN
      -- One pass over the entry's postings gathers every fact the rules need.
      SELECT count(*) AS line_count,
             count(*) FILTER (WHERE p.effective_date <> e.effective_date) AS wrong_dates,
             coalesce(sum(CASE p.side WHEN 'debit' THEN p.amount ELSE -p.amount END)
                        FILTER (WHERE a.book = 'fund'), 0) AS fund_net,
             coalesce(sum(CASE p.side WHEN 'debit' THEN p.amount ELSE -p.amount END)
                        FILTER (WHERE a.book = 'memo'), 0) AS memo_net
        INTO facts
        FROM postings p
        JOIN journal_entries e ON e.id = p.entry_id`;

const CHECK_TAIL = `
       WHERE p.entry_id = target;
      IF facts.line_count < 2 THEN
        RAISE EXCEPTION 'journal entry % has % posting(s); at least 2 are required', target, facts.line_count
          USING ERRCODE = '23514', CONSTRAINT = 'journal_entries_two_postings';
      END IF;
      IF facts.fund_net <> 0 OR facts.memo_net <> 0 THEN
        RAISE EXCEPTION 'journal entry % does not balance (fund book %, memo book %)', target, facts.fund_net, facts.memo_net
          USING ERRCODE = '23514', CONSTRAINT = 'journal_entries_balanced';
      END IF;
      IF facts.wrong_dates > 0 THEN
        RAISE EXCEPTION 'journal entry % has postings with another effective date', target
          USING ERRCODE = '23514', CONSTRAINT = 'postings_effective_date_matches_entry';
      END IF;
    END $$;`;

export async function up(knex: Knex): Promise<void> {
  await knex.raw(`${CHECK_HEAD}
       CROSS JOIN LATERAL (SELECT a.book FROM accounts a WHERE a.id = p.account_id LIMIT 1) a${CHECK_TAIL}`);
}

export async function down(knex: Knex): Promise<void> {
  await knex.raw(`${CHECK_HEAD}
        JOIN accounts a ON a.id = p.account_id${CHECK_TAIL}`);
}
