// The approval pages API: the registry's `pages` routes, without IAM, for the browsers e-mailed approval links open.

import { Stack } from "aws-cdk-lib";
import type * as lambda from "aws-cdk-lib/aws-lambda";
import type { Construct } from "constructs";
import type { FunctionDefinition, HttpRoute } from "../../functions/registry.ts";
import { ServedHttpApi } from "./http-api.ts";

/**
 * Steady requests per second across the pages API. Its callers are the few approvers of a request, each loading
 * one page and posting one decision; anything near this rate is not an approver.
 */
export const pagesThrottleRateLimitPerSecond = 5;
/** Every approver of a request opening the e-mailed link at once. */
export const pagesThrottleBurstLimit = 20;

/** What a browser form can send: a page is fetched with GET and a decision posted with POST. */
export const pagesMethods: readonly HttpRoute["method"][] = ["GET", "POST"];

/**
 * Why a pages route may skip IAM, recorded as its AwsSolutions-APIG4 acknowledgement.
 *
 * @example pagesRouteReason({ method: "GET", path: "/approvals/{id}", pages: true }) // "Approvers open …"
 */
export const pagesRouteReason = (route: HttpRoute): string => {
  const why =
    "A browser opening an e-mailed approval link cannot SigV4-sign requests, so the function authenticates the " +
    "caller by the link's token instead: HMAC-SHA256 under the link key in Secrets Manager, naming the approval, " +
    "one listed approver and an expiry, and refused (403) when forged, for another approval or expired.";
  const effect =
    route.method === "GET"
      ? " GET only renders the request and its decisions; it changes nothing."
      : " It records a vote only for the approver the token names, only on that approval and only while it is " +
        "pending (four eyes and one vote per approver still apply).";
  return `${why}${effect} The stage's throttling bounds what an unauthenticated caller can cost.`;
};

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
      description: "Switchyard: the approval pages e-mailed links open (link-token authenticated, no IAM)",
      urlDescription: "Base URL of the Switchyard approval pages (e-mailed links point here)",
      throttle: { rateLimitPerSecond: pagesThrottleRateLimitPerSecond, burstLimit: pagesThrottleBurstLimit },
      routes: Object.entries(props.definitions).flatMap(([name, definition]) =>
        (definition.http ?? [])
          .filter((route) => route.pages)
          .map((route) => ({
            route,
            functionId: definition.id,
            function: props.function(name),
            unauthenticatedReason: pagesRouteReason(route),
          })),
      ),
    });
  }
}
