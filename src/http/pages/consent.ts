// The consent page: which application asks, for which scopes and audience, on behalf of whom; allow
// or deny, or sign in as someone else.
import { html, type Html } from "./html.js";
import { layout, type Brand } from "./layout.js";

export type ConsentPage = {
  brand: Brand;
  clientName: string;
  clientId: string;
  scope: string[];
  audience: string[];
  username: string;
  interaction: string;
  csrfToken: string;
};

export function consentPage(page: ConsentPage): Html {
  const hidden = html`<input type="hidden" name="interaction" value="${page.interaction}">
<input type="hidden" name="csrf_token" value="${page.csrfToken}">`;
  return layout(
    page.brand,
    "Allow access",
    html`<h1>Allow <strong>${page.clientName}</strong> access?</h1>
<p class="muted">Application id: <code>${page.clientId}</code></p>
<p>It asks to act for you with these permissions (scopes):</p>
<ul>${page.scope.length ? page.scope.map((s) => html`<li><code>${s}</code></li>`) : html`<li>no scope</li>`}</ul>
<p>at ${page.audience.length === 1 ? "this service" : "these services"} (audience):</p>
<ul>${page.audience.map((a) => html`<li><code>${a}</code></li>`)}</ul>
<p>You are signed in as <strong>${page.username}</strong>.</p>
<form method="post" action="/authorize/consent">
${hidden}
<div class="actions">
<button type="submit" name="decision" value="deny" class="secondary">Deny</button>
<button type="submit" name="decision" value="allow" class="primary">Allow</button>
</div>
</form>
<form method="post" action="/authorize/switch-account">
${hidden}
<button type="submit" class="link">Not ${page.username}? Sign in as someone else</button>
</form>`,
  );
}
