import { z } from 'zod';
import { amountOutput, isoDate, uuid } from '../http/schemas';

/** Request and response of POST /funds/{fundId}/jobs/daily. */

export const dailyJobBody = z.strictObject({
  date: isoDate.meta({
    description:
      'The day to run (its business must be over: today or earlier in the fund’s time zone). Missed days before it run first, in order.',
  }),
});

export const dailyJobDayView = z.object({
  date: isoDate,
  ranNow: z.boolean().meta({ description: 'False when the day had already run: its stored figures.' }),
  policyVersion: z.number().int(),
  loansAccrued: z.number().int().meta({ description: 'Loans with a contract interest line (Dr 1202:<loan>).' }),
  interestTotal: amountOutput.meta({ description: 'Contract interest accrued for the day (Cr 4001).' }),
  loansPenalized: z.number().int().meta({ description: 'Loans with a penalty interest line (Dr 1203:<loan>).' }),
  penaltyTotal: amountOutput.meta({ description: 'Penalty interest on overdue principal (Cr 4003).' }),
  newlyOverdue: z.number().int(),
  newlyDefaulted: z.number().int(),
  cured: z.number().int().meta({ description: 'Loans back to active: nothing overdue any more.' }),
  classificationChanges: z.number().int(),
  entryIds: z.array(uuid),
});

export const dailyJobView = z.object({
  fundId: uuid,
  date: isoDate,
  days: z.array(dailyJobDayView),
  holdsReleased: z.number().int().meta({ description: 'Expired holds released (and their approvals cancelled).' }),
});
