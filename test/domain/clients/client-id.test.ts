// Client ids are tessera's own: 128 random bits, base64url, and never starting with "-", which a
// command line would read as an option (`tessera clients show -o6J…` failed for one id in 64).
import t from "tap";
import { newClientId } from "../../../src/domain/clients/client-service.js";

const ids = Array.from({ length: 5000 }, newClientId);
t.ok(ids.every((id) => /^[A-Za-z0-9_][A-Za-z0-9_-]{21}$/.test(id)), "22 base64url characters (128 bits), no leading '-'");
t.equal(new Set(ids).size, ids.length, "no repeats");
