// selectAudience: the token's aud from resource (RFC 8707) or audience, among what the client is
// registered for; with neither, the client's first audience.
import t from "tap";
import { selectAudience } from "../../src/domain/audience.js";

const REGISTERED = ["https://api.example.test", "https://other.example.test"];

t.test("neither resource nor audience: the client's first audience", async (t) => {
  t.equal(selectAudience(undefined, undefined, REGISTERED), "https://api.example.test");
});

t.test("a client with no audience registered has no default: invalid_target", async (t) => {
  // ClientService never stores such a client (at least one audience); a row written around it fails
  // here, before any token is signed, rather than giving a token without aud.
  t.throws(() => selectAudience(undefined, undefined, []), { code: "invalid_target", message: "client has no registered audience" });
  t.throws(() => selectAudience("https://api.example.test", undefined, []), { code: "invalid_target" });
});

t.test("requested values: one is a string, several distinct ones a list", async (t) => {
  t.equal(selectAudience(undefined, "https://other.example.test", REGISTERED), "https://other.example.test");
  t.same(selectAudience([...REGISTERED, REGISTERED[0]!], undefined, REGISTERED), REGISTERED);
  t.equal(selectAudience([REGISTERED[1]!, REGISTERED[1]!], undefined, REGISTERED), REGISTERED[1]);
});

t.test("refused", async (t) => {
  t.throws(() => selectAudience(REGISTERED[0], REGISTERED[0], REGISTERED), { code: "invalid_request", message: "use either resource or audience, not both" });
  t.throws(() => selectAudience("https://api.example.test#x", undefined, [...REGISTERED, "https://api.example.test#x"]), { code: "invalid_target", message: "resource must not contain a fragment (RFC 8707 section 2)" });
  t.throws(() => selectAudience(undefined, "https://elsewhere.example.test", REGISTERED), { code: "invalid_target", message: "requested audience is not registered for this client" });
});
