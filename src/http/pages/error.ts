// The error page: what went wrong, for requests that cannot be sent back to the application (an
// unknown client, an unregistered redirect URI, a form that does not hold).
import { html, type Html } from "./html.js";
import { layout, type Brand } from "./layout.js";

export const errorPage = (brand: Brand, title: string, message: string): Html =>
  layout(
    brand,
    title,
    html`<h1>${title}</h1>
<p class="error" role="alert">${message}</p>
<p class="muted">Go back to the application you came from and try again. If this keeps happening, tell its developers.</p>`,
  );
