// Password hashing on its own: argon2id with OWASP's parameters, and verifyPassword's answers for
// the right password, a wrong one, and a stored hash that is not an argon2 hash at all.
import t from "tap";
import { hashPassword, verifyPassword } from "../../src/crypto/passwords.js";

t.test("an argon2id hash with 19 MiB, 2 passes, 1 lane, that verifies only the password hashed", async (t) => {
  const hash = await hashPassword("correct horse battery");
  t.match(hash, /^\$argon2id\$v=19\$m=19456,p=1,t=2\$/);
  t.equal(await verifyPassword(hash, "correct horse battery"), true);
  t.equal(await verifyPassword(hash, "correct horse battery "), false);
});

t.test("a malformed stored hash verifies nothing (false, not an error)", async (t) => {
  for (const stored of ["", "not-a-hash", "$argon2id$v=19$m=19456,t=2,p=1$broken"]) {
    t.equal(await verifyPassword(stored, "anything"), false, JSON.stringify(stored));
  }
});
