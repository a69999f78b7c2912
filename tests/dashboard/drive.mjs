// Drives the admin dashboard in Debian's Chromium as an operator would: signs
// in (after a wrong token is turned away), enters a name, finds the held
// request, takes a screenshot, allows it, sees it settle into the decisions
// feed, and sets a base key through the form. Run by tests/dashboard.rs;
// exits non-zero with a message on the first thing that is not as it should be.
//
//   DASHBOARD_URL         the page, e.g. http://127.0.0.1:8081/
//   DASHBOARD_TOKEN       the admin token
//   DASHBOARD_SCREENSHOT  where to write the full-page PNG (with the hold listed)
//   DASHBOARD_EXPECT      text the hold's summary must contain (default "POST")
//   DASHBOARD_KEY_ID, DASHBOARD_KEY_SECRET
//                         a base key to enter for the credential `base`

import { chromium } from "playwright-core";

const url = need("DASHBOARD_URL");
const token = need("DASHBOARD_TOKEN");
const screenshot = need("DASHBOARD_SCREENSHOT");
const expected = process.env.DASHBOARD_EXPECT || "POST";
const keyId = need("DASHBOARD_KEY_ID");
const keySecret = need("DASHBOARD_KEY_SECRET");
const TIMEOUT = 15_000;

function need(name) {
  const value = process.env[name];
  if (!value) fail(`set ${name}`);
  return value;
}

function fail(message) {
  console.error(`dashboard: ${message}`);
  process.exit(1);
}

/** Runs `action`, naming `what` was awaited if it fails or times out. */
async function step(what, action) {
  try {
    return await action();
  } catch (error) {
    throw new Error(`${what}: ${error.message.split("\n")[0]}`);
  }
}

const browser = await chromium.launch({
  executablePath: "/usr/bin/chromium",
  args: [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
  ],
  timeout: 30_000,
});
const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
page.setDefaultTimeout(TIMEOUT);
const problems = [];
page.on("pageerror", (error) => problems.push(`page error: ${error.message}`));
page.on("console", (message) => {
  if (message.type() === "error" && !/status of 401/.test(message.text())) {
    problems.push(`console error: ${message.text()}`);
  }
});

try {
  await step("open the dashboard", () => page.goto(url, { waitUntil: "domcontentloaded" }));

  // A wrong token is turned away with a message; the right one gets in.
  await step("sign-in form", () => page.locator("#signin-form").waitFor());
  await page.fill("#token", "not-the-token");
  await page.click("#signin-form button[type=submit]");
  await step("a wrong token shows the sign-in again with a message", () =>
    page.locator("#signin-error").filter({ hasText: "not accepted" }).waitFor());
  await page.fill("#token", token);
  await page.click("#signin-form button[type=submit]");
  await step("the event stream connects (indicator says live)", () =>
    page.locator('#conn[data-state="live"]').waitFor());

  // The held request is listed, with what it is and who asked for it.
  const hold = page.locator("#holds .hold").first();
  await step("the held request is listed", () => hold.waitFor());
  const summary = (await hold.locator(".summary").textContent()) || "";
  if (!summary.includes(expected) || !summary.includes("by agent")) {
    throw new Error(`the hold's summary should mention ${JSON.stringify(expected)} and its agent: ${JSON.stringify(summary)}`);
  }
  const title = await page.title();
  if (title !== "(1) clawgate") throw new Error(`the title should count the hold: ${JSON.stringify(title)}`);

  // Allow needs a name first.
  await page.fill("#name", "");
  await hold.locator("button.allow").click();
  await step("allowing without a name asks for one", () =>
    page.locator("#toasts .toast").filter({ hasText: "Enter your name" }).waitFor());
  if ((await page.locator("#holds .hold").count()) !== 1) throw new Error("the hold went away without a name");
  await page.fill("#name", "alice");
  await page.locator("#name").blur();
  await page.locator("#toasts .toast").first().click(); // dismissed, so the screenshot shows the page at rest
  await step("a clicked toast goes away", () => page.locator("#toasts .toast").waitFor({ state: "detached" }));

  // Its facets fold out.
  await hold.locator(".facets summary").click();
  await step("the hold's facets fold out", () =>
    hold.locator(".facets table th").filter({ hasText: "http.method" }).waitFor());

  await step("screenshot", () => page.screenshot({ path: screenshot, fullPage: true }));

  // Allowed: the hold goes away and the feed shows it approved.
  await hold.locator("button.allow").click();
  await step("the allowed hold leaves the list", () => page.locator("#holds .hold").waitFor({ state: "detached" }));
  await step("the empty state shows", () => page.locator("#holds-empty").waitFor());
  const row = page.locator("#decisions tbody tr").filter({ has: page.locator(".badge-approved") }).first();
  await step("an approved decision appears in the feed", () => row.waitFor());
  const text = (await row.textContent()) || "";
  if (!text.includes("alice")) throw new Error(`the approved row should say alice allowed it: ${JSON.stringify(text)}`);
  const after = await page.title();
  if (after !== "clawgate") throw new Error(`the title should drop the count: ${JSON.stringify(after)}`);

  // A base key entered in the form is set, and the fields are cleared.
  const form = page.locator("#creds-form");
  await step("the base-key form offers the credential", () =>
    form.locator("#cred-name option", { hasText: "base — no key yet" }).waitFor({ state: "attached" }));
  await form.locator('input[name="access_key_id"]').fill(keyId);
  await form.locator('input[name="secret_access_key"]').fill(keySecret);
  await form.locator('button[type="submit"]').click();
  await step("the key is reported set", () =>
    page.locator("#creds-result").filter({ hasText: "The base key for base is set." }).waitFor());
  if ((await form.locator('input[name="secret_access_key"]').inputValue()) !== "") {
    throw new Error("the secret stayed in the form after it was set");
  }
  await step("the credential now says it has a key", () =>
    form.locator("#cred-name option", { hasText: "base — key set" }).waitFor({ state: "attached" }));

  if (problems.length) throw new Error(problems.join("\n"));
  console.log("dashboard: signed in, saw the hold, allowed it, saw it approved, set a base key");
  await browser.close();
} catch (error) {
  const failure = screenshot.replace(/\.png$/, "") + "-failure.png";
  await page.screenshot({ path: failure, fullPage: true }).catch(() => {});
  await browser.close().catch(() => {});
  fail(`${error.message}${problems.length ? `\n${problems.join("\n")}` : ""}\n(the page as it was: ${failure})`);
}
