// The sign-in page: username and password, posted with the interaction and its CSRF token.
import { html, type Html } from "./html.js";
import { layout, type Brand } from "./layout.js";

export type SignInPage = {
  brand: Brand;
  clientName: string;
  interaction: string;
  csrfToken: string;
  /** pre-filled: what was typed before, or the request's login_hint */
  username: string | undefined;
  /** why the page is shown again (wrong password, too many attempts) */
  error?: string;
};

export const signInPage = (page: SignInPage): Html =>
  layout(
    page.brand,
    "Sign in",
    html`<h1>Sign in</h1>
<p>to continue to <strong>${page.clientName}</strong></p>
${page.error !== undefined && html`<p class="error" role="alert">${page.error}</p>`}
<form method="post" action="/authorize/sign-in">
<input type="hidden" name="interaction" value="${page.interaction}">
<input type="hidden" name="csrf_token" value="${page.csrfToken}">
<label for="username">Username</label>
<input type="text" id="username" name="username" value="${page.username ?? ""}" autocomplete="username" autocapitalize="none" spellcheck="false" required${page.username === undefined ? html` autofocus` : html``}>
<label for="password">Password</label>
<input type="password" id="password" name="password" autocomplete="current-password" required${page.username === undefined ? html`` : html` autofocus`}>
<div class="actions"><button type="submit" class="primary">Sign in</button></div>
</form>`,
  );
