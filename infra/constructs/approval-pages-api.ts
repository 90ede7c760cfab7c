// The approval pages API: the registry's `pages` routes, without IAM, for browsers opening approval and ack links.

import { Stack } from "aws-cdk-lib";
import type * as lambda from "aws-cdk-lib/aws-lambda";
import type { Construct } from "constructs";
import type { FunctionDefinition, FunctionName, HttpRoute } from "../../functions/registry.ts";
import { ServedHttpApi } from "./http-api.ts";

/**
 * Steady requests per second across the pages API. Its callers are the few approvers of a request and the on-call
 * people of an incident, each loading one page and posting one decision or acknowledgement; anything near this rate
 * is neither.
 */
export const pagesThrottleRateLimitPerSecond = 5;
/** Every approver of a request opening the e-mailed link at once. */
export const pagesThrottleBurstLimit = 20;

/** What a browser form can send: a page is fetched with GET and a decision posted with POST. */
export const pagesMethods: readonly HttpRoute["method"][] = ["GET", "POST"];

const throttled = " The stage's throttling bounds what an unauthenticated caller can cost.";

/**
 * Why each function's pages routes may skip IAM, recorded as their AwsSolutions-APIG4 acknowledgements; a function
 * not listed here may not serve a pages route (`validateRegistries` refuses it).
 *
 * @example pagesRouteReasons.approvals({ method: "GET", path: "/approvals/{id}", pages: true }) // "A browser …"
 */
export const pagesRouteReasons = {
  approvals: (route: HttpRoute): string => {
    const why =
      "A browser opening an e-mailed approval link cannot SigV4-sign requests, so the function authenticates the " +
      "caller by the link's token instead: HMAC-SHA256 under the link key in Secrets Manager, naming the approval, " +
      "one listed approver and an expiry, and refused (403) when forged, for another approval or expired.";
    const effect =
      route.method === "GET"
        ? " GET only renders the request and its decisions; it changes nothing."
        : " It records a vote only for the approver the token names, only on that approval and only while it is " +
          "pending (four eyes and one vote per approver still apply).";
    return `${why}${effect}${throttled}`;
  },
  incidents: (route: HttpRoute): string => {
    const why =
      "A browser opening an incident's acknowledge link (in the Slack post, the PagerDuty page and the e-mail) " +
      "cannot SigV4-sign requests, so the function authenticates the caller by the link's token instead: " +
      "HMAC-SHA256 under the link key in Secrets Manager, naming the incident and an expiry, and refused (403) " +
      "when forged, for another incident or expired; without a token nothing is shown or changed.";
    const effect =
      route.method === "GET"
        ? " GET only renders the incident, its timeline and the acknowledge form; it changes nothing."
        : " It only acknowledges the incident the token names, which stops paging further levels; it cannot " +
          "resolve, reopen or page anything, and acknowledging twice changes nothing.";
    return `${why}${effect}${throttled}`;
  },
} as const satisfies Partial<Record<FunctionName, (route: HttpRoute) => string>>;

/**
 * Why a pages route of function `name` may skip IAM; undefined when the function has no reason to serve one.
 *
 * @example pagesRouteReason("approvals", { method: "GET", path: "/approvals/{id}", pages: true }) // "A browser …"
 */
export const pagesRouteReason = (name: string, route: HttpRoute): string | undefined =>
  (pagesRouteReasons as Partial<Record<string, (route: HttpRoute) => string>>)[name]?.(route);

/** What the pages API is built from. */
export interface ApprovalPagesApiProps {
  /** The function registry, keyed by function name; its `http` entries marked `pages` become routes. */
  definitions: Readonly<Record<string, FunctionDefinition>>;
  /** The function registered under a name. */
  function: (name: string) => lambda.IFunction;
}

/**
 * A second HTTP API serving only the routes marked `pages: true`, none of them IAM-authorized, each acknowledged
 * with `pagesRouteReason`; the same stage throttling and access-log format as the main API (tighter limits), and
 * its URL as a stack output. The main API keeps serving the same routes with IAM, for the CLI and other tools.
 *
 * @example
 * const pages = new ApprovalPagesApi(this, "PagesApi", { definitions: functions, function: (n) => fns.get(n) });
 * fn.addEnvironment(envNames.approvalPagesUrl, pages.stage.url);
 */
export class ApprovalPagesApi extends ServedHttpApi {
  constructor(scope: Construct, id: string, props: ApprovalPagesApiProps) {
    super(scope, id, {
      apiName: `${Stack.of(scope).stackName}-approval-pages`,
      description:
        "Switchyard: the approval and incident pages that signed links open (link-token authenticated, no IAM)",
      urlDescription:
        "Base URL of the Switchyard approval pages (approval links and incident acknowledge links point here)",
      throttle: { rateLimitPerSecond: pagesThrottleRateLimitPerSecond, burstLimit: pagesThrottleBurstLimit },
      routes: Object.entries(props.definitions).flatMap(([name, definition]) =>
        (definition.http ?? [])
          .filter((route) => route.pages)
          .map((route) => {
            const reason = pagesRouteReason(name, route);
            // validateRegistries refuses such a route first; without a reason the route would require IAM.
            if (reason === undefined)
              throw new Error(`Function "${name}" has no reason to serve a pages route`);
            return {
              route,
              functionId: definition.id,
              function: props.function(name),
              unauthenticatedReason: reason,
            };
          }),
      ),
    });
  }
}
