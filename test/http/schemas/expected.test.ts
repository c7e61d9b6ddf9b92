// What a schema expects, in words: the sentences schema failures turn into, and a check that every
// admin and OAuth request schema can say it without a regular expression.
import t from "tap";
import { Type } from "typebox";
import * as adminSchemas from "../../../src/http/schemas/admin.js";
import { describeSchemaError, EXPECTED, expected, type RequestSchema } from "../../../src/http/schemas/expected.js";
import * as oauthSchemas from "../../../src/http/schemas/oauth.js";

t.test("simple schemas describe themselves", async (t) => {
  const cases: Array<[unknown, string]> = [
    [Type.Boolean(), "a boolean"],
    [Type.Integer({ minimum: 1, maximum: 500 }), "an integer from 1 to 500"],
    [Type.Integer({ minimum: 0 }), "an integer of at least 0"],
    [Type.Number({ maximum: 2 }), "a number of at most 2"],
    [Type.Integer(), "an integer"],
    [Type.String({ minLength: 1, maxLength: 200 }), "a string of 1 to 200 characters"],
    [Type.String({ maxLength: 64 }), "a string of at most 64 characters"],
    [Type.String({ minLength: 8 }), "a string of at least 8 characters"],
    [Type.String(), "a string"],
    [Type.Array(Type.Boolean(), { minItems: 1, maxItems: 3 }), "an array of 1 to 3 items, each a boolean"],
    [Type.Union([Type.Integer(), Type.Null()]), "an integer or null"],
    [Type.Union([Type.Literal("a"), Type.Literal("b")]), "a or b"],
    [Type.Enum(["x", "y"]), "one of x, y"],
    [Type.Object({}), "an object"],
    [Type.Null(), "null"],
    [{ type: "array" }, "an array"],
    [{}, "a valid value"],
    [Type.String({ pattern: "^[a-z]+$", [EXPECTED]: "lower-case letters" }), "lower-case letters"],
  ];
  for (const [schema, words] of cases) t.equal(expected(schema as RequestSchema), words, words);
});

t.test("a failure names the field and says what it must be", async (t) => {
  const body = Type.Object({
    enabled: Type.Boolean(),
    scope: Type.String({ maxLength: 10 }),
    keys: Type.Union([Type.Object({ keys: Type.Array(Type.String()) }), Type.Null()], { [EXPECTED]: "a key set or null" }),
    nested: Type.Object({ inner: Type.Integer({ minimum: 1, maximum: 2 }) }),
    maybe: Type.Union([Type.Object({ inner: Type.Boolean() }), Type.Null()]),
  }) as RequestSchema;
  const at = (keyword: string, instancePath: string, params: Record<string, unknown> = {}) => ({ keyword, instancePath, params });
  const cases: Array<[ReturnType<typeof at>, string, unknown, string]> = [
    [at("type", "/enabled"), "body", { enabled: "yes" }, "enabled must be a boolean"],
    [at("maxLength", "/scope"), "body", { scope: "x".repeat(11) }, "scope must be a string of at most 10 characters"],
    [at("type", "/scope"), "body", { scope: ["a", "b"] }, "scope must be a single string (given once)"],
    [at("type", "/keys/keys/0"), "body", { keys: { keys: [1] } }, "keys must be a key set or null"],
    [at("required", "/keys", { missingProperty: "keys" }), "body", { keys: {} }, "keys must be a key set or null"],
    [at("maximum", "/nested/inner"), "body", { nested: { inner: 3 } }, "nested.inner must be an integer from 1 to 2"],
    [at("required", "/nested", { missingProperty: "inner" }), "body", { nested: {} }, "nested.inner is required"],
    [at("required", "", { missingProperty: "enabled" }), "body", {}, "enabled is required"],
    [at("additionalProperties", "", { additionalProperty: "grantTypes" }), "body", {}, "grantTypes is not a known field"],
    [at("type", ""), "body", [], "the request body is missing or not an object"],
    [at("type", "/maybe/inner"), "body", { maybe: { inner: 1 } }, "maybe.inner must be a boolean"],
    [at("type", "/maybe"), "body", { maybe: 1 }, "maybe must be an object or null"],
    [at("type", "/scope"), "body", undefined, "scope must be a string of at most 10 characters"],
    [at("not", "/unnamed"), "body", { unnamed: 1 }, "the request body is not valid"],
    [at("type", "/enabled"), "querystring", { enabled: "yes" }, "enabled must be a boolean"],
    [at("type", "/enabled"), "params", { enabled: "yes" }, "path parameter enabled must be a boolean"],
  ];
  for (const [error, context, data, words] of cases) t.equal(describeSchemaError(error, context, body, data), words, words);
  t.equal(describeSchemaError(undefined, "querystring", body, {}), "the query string is not valid", "no error to describe");
  t.equal(describeSchemaError(at("type", ""), "body", Type.String({ maxLength: 3 }) as RequestSchema, 1), "the request body must be a string of at most 3 characters");
  t.equal(describeSchemaError(at("type", "/enabled"), "cookies", body, {}), "enabled must be a boolean", "another part");
  t.equal(describeSchemaError(at("type", ""), "cookies", body, 1), "the request is missing or not an object");
  t.equal(describeSchemaError(at("type", "/x"), "headers", undefined, {}), "a request header is not valid", "no schema");
});

/** Every schema inside `schema`, itself included. */
function* walk(schema: Record<string, unknown>): Generator<Record<string, unknown>> {
  yield schema;
  for (const value of Object.values(schema)) {
    const children = Array.isArray(value) ? value : [value];
    for (const child of children) if (child && typeof child === "object") yield* walk(child as Record<string, unknown>);
  }
}

t.test("every request schema says in words what a patterned or formatted string must be", async (t) => {
  const schemas = { ...adminSchemas, ...oauthSchemas };
  for (const [name, schema] of Object.entries(schemas)) {
    if (!schema || typeof schema !== "object") continue;
    for (const sub of walk(schema as Record<string, unknown>)) {
      if (typeof sub.pattern === "string" || typeof sub.format === "string") {
        t.type(sub[EXPECTED], "string", `${name}: ${String(sub.pattern ?? sub.format)} has its words`);
      }
      if (typeof sub.type === "string" || Array.isArray(sub.anyOf)) {
        t.notMatch(expected(sub as RequestSchema), /a valid value|\^|\$|\\/, `${name}: described without a fallback or a regular expression`);
      }
    }
  }
});
