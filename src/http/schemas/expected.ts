// What a request schema expects, in words: turns a schema-validation failure into an
// error_description that names the field and says what it must be ("enabled must be a boolean",
// "limit must be an integer from 1 to 500"), never Ajv's schema paths or a regular expression.
//
// The sentence comes from the schema of the field at fault, not from the failing keyword, so a
// wrong type, a value out of range or a string too long all say the same complete thing. Simple
// schemas describe themselves (booleans, integer ranges, string lengths); a schema whose meaning its
// keywords cannot say (a pattern, an array of URIs, a JWK Set) carries the words in `x-expected`.

/** The annotation keyword (registered with Ajv in app.ts) that says what a schema expects. */
export const EXPECTED = "x-expected";

export type RequestSchema = {
  [EXPECTED]?: string;
  type?: string;
  anyOf?: RequestSchema[];
  const?: unknown;
  enum?: unknown[];
  minimum?: number;
  maximum?: number;
  minLength?: number;
  maxLength?: number;
  minItems?: number;
  maxItems?: number;
  items?: RequestSchema;
  properties?: Record<string, RequestSchema>;
};

/** One Ajv error, as Fastify passes them in `error.validation`. */
export type SchemaError = { keyword: string; instancePath: string; params: Record<string, unknown> };

const range = (noun: string, min: number | undefined, max: number | undefined, unit = "") =>
  min !== undefined && max !== undefined ? `${noun} of ${min} to ${max}${unit}`
  : max !== undefined ? `${noun} of at most ${max}${unit}`
  : min !== undefined ? `${noun} of at least ${min}${unit}`
  : noun;

/** "a boolean", "an integer from 1 to 500", "a string of 1 to 200 characters", … */
export function expected(schema: RequestSchema): string {
  const own = schema[EXPECTED];
  if (own !== undefined) return own;
  if (schema.anyOf) {
    const nullable = schema.anyOf.some((s) => s.type === "null");
    const others = schema.anyOf.filter((s) => s.type !== "null").map(expected);
    return [...others, ...(nullable ? ["null"] : [])].join(" or ");
  }
  if (schema.const !== undefined) return String(schema.const);
  if (schema.enum) return `one of ${schema.enum.join(", ")}`;
  switch (schema.type) {
    case "boolean":
      return "a boolean";
    case "null":
      return "null";
    case "integer":
    case "number": {
      const noun = schema.type === "integer" ? "an integer" : "a number";
      const { minimum: min, maximum: max } = schema;
      return min !== undefined && max !== undefined ? `${noun} from ${min} to ${max}`
        : min !== undefined ? `${noun} of at least ${min}`
        : max !== undefined ? `${noun} of at most ${max}`
        : noun;
    }
    case "string":
      return range("a string", schema.minLength, schema.maxLength, " characters");
    case "array":
      return `${range("an array", schema.minItems, schema.maxItems, " items")}${schema.items ? `, each ${expected(schema.items)}` : ""}`;
    case "object":
      return "an object";
    default:
      return "a valid value";
  }
}

/**
 * The field at `instancePath` and its schema: descends through object properties, and stops at an
 * array (its items are described with it) or at a schema that says what it expects.
 */
function fieldAt(root: RequestSchema, instancePath: string): { path: string[]; schema: RequestSchema } {
  const segments = instancePath.split("/").slice(1).map((s) => s.replaceAll("~1", "/").replaceAll("~0", "~"));
  let schema = root;
  const path: string[] = [];
  for (const segment of segments) {
    if (schema[EXPECTED] !== undefined) break;
    const objectSchema = schema.properties ? schema : schema.anyOf?.find((s) => s.properties?.[segment]);
    const next = objectSchema?.properties?.[segment];
    if (!next) break;
    schema = next;
    path.push(segment);
  }
  return { path, schema };
}

const valueAt = (data: unknown, path: string[]): unknown =>
  path.reduce<unknown>((v, key) => (v !== null && typeof v === "object" ? (v as Record<string, unknown>)[key] : undefined), data);

const PARTS: Record<string, string> = { body: "the request body", querystring: "the query string", params: "the path", headers: "a request header" };

/**
 * An error_description for the first schema error of a request part (`context`: body, querystring,
 * params or headers), given that part's schema and the data it refused.
 */
export function describeSchemaError(error: SchemaError | undefined, context: string, root: RequestSchema | undefined, data: unknown): string {
  const part = PARTS[context] ?? "the request";
  if (!error || !root) return `${part} is not valid`;
  const { path, schema } = fieldAt(root, error.instancePath);
  const field = path.join(".");
  const name = context === "params" ? `path parameter ${field}` : field;
  if (field && schema[EXPECTED] !== undefined) return `${name} must be ${schema[EXPECTED]}`;
  const prefix = field ? `${field}.` : "";
  if (error.keyword === "required") return `${prefix}${String(error.params.missingProperty)} is required`;
  if (error.keyword === "additionalProperties") return `${prefix}${String(error.params.additionalProperty)} is not a known field`;
  if (!field && error.instancePath !== "") return `${part} is not valid`; // a member no schema names
  if (!field) return schema.type === "object" ? `${part} is missing or not an object` : `${part} must be ${expected(schema)}`;
  // A form parameter given twice arrives as an array, which is what fails a single string.
  if (schema.type === "string" && Array.isArray(valueAt(data, path))) return `${name} must be a single string (given once)`;
  return `${name} must be ${expected(schema)}`;
}
