/** Reading a JSON request body against a schema: `{data}`, or the 400 answer `{error, details}`. */
import type { z } from 'zod';

type Parsed<T extends z.ZodType> = { data: z.output<T> } | { error: string; details: unknown };

export async function readBody<T extends z.ZodType>(
  request: Request,
  schema: T,
): Promise<Parsed<T>> {
  let json: unknown;
  try {
    json = await request.json();
  } catch {
    return { error: 'invalid_json', details: 'the body is not JSON' };
  }
  const parsed = schema.safeParse(json);
  if (!parsed.success) {
    return {
      error: 'invalid_request',
      details: parsed.error.issues.slice(0, 10).map((issue) => ({
        path: issue.path.join('.'),
        message: issue.message,
      })),
    };
  }
  return { data: parsed.data };
}
