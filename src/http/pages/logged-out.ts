// The page after a logout that has nowhere registered to go back to.
import { html, type Html } from "./html.js";
import { layout, type Brand } from "./layout.js";

export const loggedOutPage = (brand: Brand): Html =>
  layout(
    brand,
    "Signed out",
    html`<h1>You are signed out</h1>
<p>You are no longer signed in to ${brand.name} in this browser. You can close this page.</p>`,
  );
