import type { Knex } from 'knex';
// knex treats every "?" in raw SQL as a binding, even with no bindings: the SQL below avoids "?".

/**
 * Rule S1 of docs/adr/0016-joint-guarantee-groups.md as a function of the database: what a
 * guarantee counts toward its guarantor's capacity and exposure. It was a SQL fragment spliced into
 * each caller's statement, naming the caller's table by an alias and its own subquery's table `s`;
 * a caller whose alias was also `s` had its columns shadowed, and the count ran over every group
 * guarantee of the database (issue 15, point 1). A function takes values, not names: whatever a
 * caller calls its tables, the count sees exactly the loan and group it is given.
 *
 * The arguments are qualified with the function's name inside it, because in a SQL function a
 * column of the same name would win over an argument.
 */
export async function up(knex: Knex): Promise<void> {
  await knex.raw(`
    CREATE FUNCTION guarantee_capacity_share(fund_id uuid, loan_id uuid, joint_group_id uuid, standing numeric)
      RETURNS numeric LANGUAGE sql STABLE PARALLEL SAFE
      AS $$
        SELECT CASE
                 WHEN guarantee_capacity_share.joint_group_id IS NULL THEN guarantee_capacity_share.standing
                 ELSE round(guarantee_capacity_share.standing
                            / (SELECT count(*)
                                 FROM loan_guarantees g
                                WHERE g.fund_id = guarantee_capacity_share.fund_id
                                  AND g.loan_id = guarantee_capacity_share.loan_id
                                  AND g.joint_group_id = guarantee_capacity_share.joint_group_id
                                  AND g.status <> 'withdrawn'), 2)
               END
      $$;
    COMMENT ON FUNCTION guarantee_capacity_share(uuid, uuid, uuid, numeric) IS
      'Rule S1 (ADR 0016): a guarantee''s standing amount, or for a joint group''s guarantee its equal share among the loan''s guarantors from that group, half-up to the fen.';
  `);
}

export async function down(knex: Knex): Promise<void> {
  await knex.raw('DROP FUNCTION IF EXISTS guarantee_capacity_share(uuid, uuid, uuid, numeric);');
}
