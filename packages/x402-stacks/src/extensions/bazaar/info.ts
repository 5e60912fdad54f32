/**
 * The bazaar extension's `info`: how to call a paid resource (`input`) and what it answers (`output`). An HTTP input
 * is a query method (GET, HEAD, DELETE, with `queryParams`) or a body method (POST, PUT, PATCH, with `bodyType` and
 * `body`); an MCP input names a tool and its argument schema. Upstream's spec names the tool `tool` and its 2.27
 * package `toolName`: both are read.
 * @module
 */
import { z } from 'zod';

/**
 * The extension's name: its key in `extensions` and in `/supported`.
 * @example
 * ```ts
 * challenge.extensions?.[BAZAAR];
 * ```
 */
export const BAZAAR = 'bazaar';

/**
 * Methods whose input travels in the query string. A resource called with one of them describes its input with
 * `queryParams`, never a body.
 * @example
 * ```ts
 * const inQuery = (BAZAAR_QUERY_METHODS as readonly string[]).includes(request.method); // GET, HEAD, DELETE
 * ```
 */
export const BAZAAR_QUERY_METHODS = ['GET', 'HEAD', 'DELETE'] as const;
/**
 * Methods whose input travels in the body. A resource called with one of them describes its input with `bodyType` and
 * `body`.
 * @example
 * ```ts
 * const withBody = (BAZAAR_BODY_METHODS as readonly string[]).includes(request.method); // POST, PUT, PATCH
 * ```
 */
export const BAZAAR_BODY_METHODS = ['POST', 'PUT', 'PATCH'] as const;
/**
 * How a body method's body is encoded. `bodyType` must be one of them whenever the method is a body method.
 * @example
 * ```ts
 * const input = { type: 'http', method: 'POST', bodyType: BAZAAR_BODY_TYPES[0], body: { city: 'Lisbon' } };
 * ```
 */
export const BAZAAR_BODY_TYPES = ['json', 'form-data', 'text'] as const;

const JsonObject = z.record(z.string(), z.unknown());
const queryMethods: ReadonlySet<string> = new Set(BAZAAR_QUERY_METHODS);
const bodyMethods: ReadonlySet<string> = new Set(BAZAAR_BODY_METHODS);

const HttpInputSchema = z
  .looseObject({
    type: z.literal('http'),
    method: z.enum([...BAZAAR_QUERY_METHODS, ...BAZAAR_BODY_METHODS]).optional(),
    queryParams: JsonObject.optional(),
    pathParams: JsonObject.optional(),
    // Examples, read loosely: upstream's v1 converter may carry a header's description rather than a value.
    headers: JsonObject.optional(),
    bodyType: z.enum(BAZAAR_BODY_TYPES).optional(),
    // An object, a string, or for a JSON body any JSON value (an array, say).
    body: z.unknown().optional(),
  })
  .superRefine((input, context) => {
    const { method, bodyType } = input;
    if (bodyType !== undefined && method !== undefined && !bodyMethods.has(method))
      context.addIssue({
        code: 'custom',
        path: ['method'],
        message: `bodyType is set but ${method} is not a body method (POST, PUT, PATCH)`,
      });
    if (bodyType === undefined && method !== undefined && !queryMethods.has(method))
      context.addIssue({
        code: 'custom',
        path: ['bodyType'],
        message: `${method} is a body method: give bodyType and body`,
      });
    if (bodyType !== undefined && input.body === undefined)
      context.addIssue({ code: 'custom', path: ['body'], message: 'a body method needs body' });
  });

const McpInputSchema = z
  .looseObject({
    type: z.literal('mcp'),
    tool: z.string().min(1).optional(),
    toolName: z.string().min(1).optional(),
    description: z.string().optional(),
    transport: z.enum(['streamable-http', 'sse']).optional(),
    inputSchema: JsonObject,
    example: JsonObject.optional(),
  })
  .refine((input) => input.tool !== undefined || input.toolName !== undefined, {
    path: ['tool'],
    message: 'an MCP input names its tool',
  });

/**
 * The bazaar `info` object.
 * @example
 * ```ts
 * BazaarInfoSchema.parse({ input: { type: 'http', method: 'GET', queryParams: { city: 'Paris' } } });
 * ```
 */
export const BazaarInfoSchema = z.looseObject({
  input: z.discriminatedUnion('type', [HttpInputSchema, McpInputSchema]),
  output: z
    .looseObject({
      type: z.string().min(1),
      format: z.string().optional(),
      example: z.unknown().optional(),
    })
    .optional(),
});

/**
 * The bazaar `info` object, parsed.
 * @example
 * ```ts
 * const info: BazaarInfo = { input: { type: 'http', method: 'GET' } };
 * ```
 */
export type BazaarInfo = z.infer<typeof BazaarInfoSchema>;

/**
 * The whole `extensions.bazaar` entry: `info`, the JSON Schema of `info`, and for a dynamic route the `routeTemplate`
 * (`/users/:id`) under which every concrete path is listed once.
 * @example
 * ```ts
 * BazaarDeclarationSchema.parse({ info: { input: { type: 'http', method: 'GET' } }, schema: { type: 'object' } });
 * ```
 */
export const BazaarDeclarationSchema = z.looseObject({
  info: BazaarInfoSchema,
  schema: JsonObject,
  routeTemplate: z.string().optional(),
});

/**
 * One bazaar declaration, parsed.
 * @example
 * ```ts
 * const declaration: BazaarDeclaration = { info: { input: { type: 'http', method: 'GET' } }, schema: {} };
 * ```
 */
export type BazaarDeclaration = z.infer<typeof BazaarDeclarationSchema>;

/**
 * The method a declaration's HTTP input is called with: the declared one, else POST for a body and GET otherwise
 * (upstream's declare helper leaves the method to be filled per request).
 * @example
 * ```ts
 * methodOf({ input: { type: 'http', bodyType: 'json', body: {} } }); // 'POST'
 * ```
 */
export function methodOf(info: BazaarInfo): string | undefined {
  const { input } = info;
  if (input.type !== 'http') return undefined;
  return input.method ?? (input.bodyType === undefined ? 'GET' : 'POST');
}

/**
 * The MCP tool a declaration names, under either spelling.
 * @example
 * ```ts
 * toolOf({ input: { type: 'mcp', tool: 'forecast', inputSchema: {} } }); // 'forecast'
 * ```
 */
export function toolOf(info: BazaarInfo): string | undefined {
  const { input } = info;
  return input.type === 'mcp' ? (input.tool ?? input.toolName) : undefined;
}
