/** The contract of `PUT /lanes/limits`: what an admin may change about a lane's rate limit at runtime. */
import { z } from 'zod';
import { LaneNameSchema, SUPPORTED_URLS } from './contracts';

/** `PUT /lanes/limits`: a new limit for one lane (or, without endpoint and model, the default queue). */
export const SetLaneLimitRequestSchema = z
  .strictObject({
    /** A named lane; or endpoint and model for an unnamed one; or none of them for the default queue. */
    name: LaneNameSchema.optional(),
    endpoint: z.enum(SUPPORTED_URLS).optional(),
    model: z.string().min(1).optional(),
    /** Both null or absent: clear the runtime limit, so the workers' start-up limit applies again. */
    rpm: z.number().int().min(0).nullable().optional(),
    tpm: z.number().int().min(0).nullable().optional(),
  })
  .refine((r) => (r.endpoint === undefined) === (r.model === undefined), {
    message: 'give endpoint and model together, or neither for the default queue',
    path: ['model'],
  })
  .refine((r) => r.name === undefined || r.endpoint === undefined, {
    message: 'give a lane name, or endpoint and model, not both',
    path: ['name'],
  });
