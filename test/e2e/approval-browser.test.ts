// End to end in Chromium: an approver opens the e-mailed link, approves with the page's form, and production syncs.

import { mkdirSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { type Browser, type BrowserContextOptions, chromium, type Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ensureChromium } from "../support/chromium.ts";
import { linkFor } from "../support/outbox.ts";
import { digestOf, ecrPush, valuesAt, writeConfig } from "../support/platform.ts";
import { eventually, postJson, startTestRuntime, type TestRuntime } from "../support/runtime.ts";

interface Approval {
  id: string;
  promotionId: string;
  service: string;
  state: string;
  decisions: { approver: string; decision: string; channel: string; comment?: string }[];
}

/** Installing Chromium, when the machine lacks it, downloads about 100 MB. */
const chromiumInstallTimeoutMs = 10 * 60_000;
const waitTimeoutMs = 20_000;
const resultsDir = fileURLToPath(new URL("../../test-results/", import.meta.url));
const approver = "a@example.com";

const pendingApproval = (runtime: TestRuntime, service: string): Promise<Approval> =>
  eventually(async () => {
    const { body } = await runtime.call("/approvals?status=pending");
    return (body as Approval[]).find((a) => a.service === service);
  }, waitTimeoutMs);

const approvalById = async (runtime: TestRuntime, id: string): Promise<Approval> =>
  (await runtime.call(`/approvals/${id}`, { headers: { accept: "application/json" } })).body;

const finishedExecution = (runtime: TestRuntime, promotionId: string) =>
  eventually(async () => {
    const { body } = await runtime.call(
      `/executions/${encodeURIComponent(`production-sync:${promotionId}`)}`,
    );
    return body.status && body.status !== "RUNNING" ? body : undefined;
  }, waitTimeoutMs);

/** The value beside a label of the page's "The change" list. */
const field = (page: Page, label: string) => page.locator(`dt:text-is("${label}") + dd`).textContent();

const heading = (page: Page) => page.getByRole("heading", { level: 1 }).textContent();

const decisionButtons = (page: Page) => page.getByRole("button", { name: /^(Approve|Reject)$/ });

/** Clicks Approve and waits for the answer page to load; returns the decision POST's status. */
const clickApprove = async (page: Page, approvalId: string): Promise<number> => {
  const decisionUrl = new URL(`/approvals/${approvalId}/decision`, page.url()).href;
  const [response] = await Promise.all([
    page.waitForResponse((r) => r.url() === decisionUrl && r.request().method() === "POST"),
    page.waitForURL(decisionUrl),
    page.getByRole("button", { name: "Approve", exact: true }).click(),
  ]);
  return response.status();
};

describe("approval page in a browser", () => {
  let runtime: TestRuntime;
  let browser: Browser;

  beforeAll(async () => {
    const executablePath = ensureChromium();
    runtime = await startTestRuntime({
      configPath: writeConfig([
        { name: "checkout", policy: { semver: "^1.0.0" } },
        { name: "billing", policy: { semver: "^1.0.0" } },
        { name: "inventory", policy: { semver: "^1.0.0" } },
      ]),
    });
    // Root cannot use Chromium's sandbox; the page is our own, served from localhost.
    browser = await chromium.launch({ executablePath, headless: true, args: ["--no-sandbox"] });
  }, chromiumInstallTimeoutMs);

  afterAll(async () => {
    await browser?.close();
    await runtime?.dispose();
  });

  /** Pushes 1.1.0 of `service` and waits for the approver's e-mailed link to the production approval. */
  const requestProductionApproval = async (service: string) => {
    const digest = digestOf(`${service}:1.1.0`);
    await runtime.call("/events", postJson({ Entries: [ecrPush(service, "1.1.0", { digest })] }));
    const request = await pendingApproval(runtime, service);
    const link = await eventually(() => linkFor(runtime.home, approver, request.id), waitTimeoutMs);
    return { digest, request, link };
  };

  /** A fresh browser context, closed whatever the test's outcome. */
  const withPage = async (options: BrowserContextOptions, use: (page: Page) => Promise<void>) => {
    const context = await browser.newContext({ viewport: { width: 1024, height: 768 }, ...options });
    try {
      await use(await context.newPage());
    } finally {
      await context.close();
    }
  };

  it.each([
    { javaScriptEnabled: true, service: "checkout", screenshot: "approval-page.png" },
    { javaScriptEnabled: false, service: "billing", screenshot: "approval-page-no-javascript.png" },
  ])(
    "approves with the page's form from the e-mailed link (JavaScript enabled: $javaScriptEnabled)",
    async ({ javaScriptEnabled, service, screenshot }) => {
      const { digest, request, link } = await requestProductionApproval(service);
      const token = new URL(link).searchParams.get("token")!;

      await withPage({ javaScriptEnabled, colorScheme: "light" }, async (page) => {
        const opened = await page.goto(link);
        expect(opened?.status()).toBe(200);
        expect(await heading(page)).toBe(`Promote ${service} 1.1.0 to production?`);
        expect(await field(page, "Service")).toBe(service);
        expect(await field(page, "Environment")).toBe("production");
        expect(await field(page, "Change")).toContain("1.1.0");
        expect(await field(page, "Digest")).toBe(digest);
        expect(await page.getByText(`You are deciding as ${approver}.`).count()).toBe(1);
        expect(await page.getByRole("button", { name: "Approve", exact: true }).isVisible()).toBe(true);
        expect(await page.getByRole("button", { name: "Reject", exact: true }).isVisible()).toBe(true);
        mkdirSync(resultsDir, { recursive: true });
        await page.screenshot({ path: join(resultsDir, screenshot), fullPage: true });

        await page.getByLabel("Comment").fill("ship it");
        expect(await clickApprove(page, request.id)).toBe(200);
        expect(await heading(page)).toBe("Approved");
        expect(await page.locator("header").textContent()).toContain(
          `${service} 1.1.0 to production goes ahead. Recorded for ${approver}.`,
        );
        expect(await page.content()).not.toContain(token);
      });

      const decided = await approvalById(runtime, request.id);
      expect(decided.state).toBe("approved");
      expect(decided.decisions).toMatchObject([
        { approver, decision: "approve", channel: "email", comment: "ship it" },
      ]);
      const execution = await finishedExecution(runtime, request.promotionId);
      expect(execution.status).toBe("SUCCEEDED");
      expect(valuesAt(runtime.home, service, "production")).toContain(digest);
    },
  );

  it("shows the already-decided page, without a form, when the link is opened after approval", async () => {
    const { request, link } = await requestProductionApproval("inventory");
    await withPage({}, async (page) => {
      await page.goto(link);
      expect(await clickApprove(page, request.id)).toBe(200);
      expect(await heading(page)).toBe("Approved");

      const reopened = await page.goto(link);
      expect(reopened?.status()).toBe(200);
      expect(await heading(page)).toBe("Already approved");
      expect(await page.locator("header").textContent()).toContain(`Approved by ${approver}`);
      expect(await page.getByText("This request is closed").count()).toBe(1);
      expect(await decisionButtons(page).count()).toBe(0);
      expect(await page.locator("form").count()).toBe(0);
    });
    expect((await approvalById(runtime, request.id)).state).toBe("approved");
  });
});
