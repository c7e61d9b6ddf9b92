// The confirmation of a logout that cannot be trusted as sent (no valid id_token_hint for this
// browser's session; OpenID RP-Initiated Logout 1.0 §2: the OP SHOULD ask the user). The checked
// request is sealed into the page's form (HMAC-SHA256, as interaction.ts seals /authorize's) with a
// CSRF token bound to the browser's tessera_csrf cookie, so another site cannot post the form for
// the user and nobody can change where the browser goes afterwards.
import { constantTimeEqual, keyedDigest, randomToken } from "../../crypto/secrets.js";
import type { Clock } from "../clock.js";
import { INTERACTION_TTL_SECONDS, openForm, sealForm } from "./interaction.js";

export type LogoutConfirmation = {
  id: string;
  expiresAt: number;
  clientId: string | null;
  postLogoutRedirectUri: string | null;
  state: string | null;
};

/** A confirmation form that does not hold: a 400 page. */
export class ConfirmationRefused extends Error {}

export class LogoutConfirmationSealer {
  readonly #key: Buffer;
  readonly #clock: Clock;

  constructor(key: Buffer, clock: Clock) {
    this.#key = key;
    this.#clock = clock;
  }

  begin(fields: Omit<LogoutConfirmation, "id" | "expiresAt">): LogoutConfirmation {
    return { id: randomToken(16), expiresAt: this.#clock.now() + INTERACTION_TTL_SECONDS * 1000, ...fields };
  }

  seal(confirmation: LogoutConfirmation): string {
    return sealForm(this.#key, "logout", confirmation);
  }

  /** The confirmation a form sent back, if its MAC holds, it has not expired and its CSRF token is this browser's. */
  open(sealed: string, binding: string | undefined, csrfToken: string): LogoutConfirmation {
    const confirmation = openForm(this.#key, "logout", sealed) as LogoutConfirmation | null;
    if (confirmation === null) throw new ConfirmationRefused("The form was altered or is not from this server.");
    if (confirmation.expiresAt <= this.#clock.now()) throw new ConfirmationRefused("The page was open too long; go back to the application and sign out again.");
    if (!binding || !constantTimeEqual(csrfToken, this.csrfToken(confirmation, binding))) {
      throw new ConfirmationRefused("The form's security token does not match this browser; go back to the application and sign out again.");
    }
    return confirmation;
  }

  csrfToken(confirmation: LogoutConfirmation, binding: string): string {
    return keyedDigest(this.#key, `logout-csrf.${confirmation.id}.${binding}`);
  }
}
