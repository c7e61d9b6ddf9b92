// The logout confirmation page: shown when /end-session cannot trust the request (no valid
// id_token_hint for this browser's session), so that another site cannot sign the user out unasked.
import { html, type Html } from "./html.js";
import { layout, type Brand } from "./layout.js";

export type LogoutConfirmPage = {
  brand: Brand;
  /** the application that asked, when known */
  clientName: string | null;
  username: string;
  confirmation: string;
  csrfToken: string;
};

export const logoutConfirmPage = (page: LogoutConfirmPage): Html =>
  layout(
    page.brand,
    "Sign out",
    html`<h1>Sign out of ${page.brand.name}?</h1>
${page.clientName !== null && html`<p><strong>${page.clientName}</strong> asks to sign you out.</p>`}
<p>You are signed in as <strong>${page.username}</strong>. Signing out ends this session and the applications' access obtained in it.</p>
<form method="post" action="/end-session/confirm">
<input type="hidden" name="confirmation" value="${page.confirmation}">
<input type="hidden" name="csrf_token" value="${page.csrfToken}">
<div class="actions"><button type="submit" class="primary">Sign out</button></div>
</form>
<p class="muted">If you did not ask to sign out, close this page: you stay signed in.</p>`,
  );
