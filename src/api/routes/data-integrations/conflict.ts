import { PipesError } from '../../../errors.ts';

/** The §3.2 409, word for word, plus what to do. */
export const duplicateIntegration = (slug: string) =>
  new PipesError(
    'data_integration_already_exists',
    `A data integration with this slug already exists in the environment ("${slug}"). ` +
      `Update it with PUT /data-integrations/${slug}, or delete it first.`,
    { status: 409 },
  );
