// The frame every page shares: the product name and logo (BRAND_* settings), tessera's stylesheet
// and the operator's, then the page's own content.
import type { Config } from "../../config/schema.js";
import { html, type Html } from "./html.js";

export type Brand = { name: string; logoUrl: string | undefined; stylesheetUrl: string | undefined };

/** The operator's branding (BRAND_NAME, BRAND_LOGO_URL, BRAND_STYLESHEET_URL). */
export const brandOf = (config: Config): Brand => ({ name: config.brandName, logoUrl: config.brandLogoUrl, stylesheetUrl: config.brandStylesheetUrl });

export const STYLESHEET_PATH = "/authorize/style.css";

export const layout = (brand: Brand, title: string, content: Html): Html => html`<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="referrer" content="no-referrer">
<title>${title} · ${brand.name}</title>
<link rel="stylesheet" href="${STYLESHEET_PATH}">
${brand.stylesheetUrl !== undefined && html`<link rel="stylesheet" href="${brand.stylesheetUrl}">`}
</head>
<body>
<main>
<header>
${brand.logoUrl !== undefined ? html`<img src="${brand.logoUrl}" alt="${brand.name}">` : html`<div class="brand">${brand.name}</div>`}
</header>
${content}
</main>
</body>
</html>
`;
