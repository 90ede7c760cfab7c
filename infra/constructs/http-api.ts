// The HTTP APIs: a shared throttled, logged base, and the main API with every `http` route of functions/registry.ts.

import { CfnOutput, Stack, Validations } from "aws-cdk-lib";
import * as apigateway from "aws-cdk-lib/aws-apigateway";
import * as apigwv2 from "aws-cdk-lib/aws-apigatewayv2";
import { HttpIamAuthorizer } from "aws-cdk-lib/aws-apigatewayv2-authorizers";
import { HttpLambdaIntegration } from "aws-cdk-lib/aws-apigatewayv2-integrations";
import type * as lambda from "aws-cdk-lib/aws-lambda";
import * as logs from "aws-cdk-lib/aws-logs";
import { Construct } from "constructs";
import type { FunctionDefinition, HttpRoute } from "../../functions/registry.ts";
import { functionLogRetention } from "./functions.ts";

/**
 * A route key as API Gateway writes it.
 *
 * @example routeKey({ method: "POST", path: "/webhooks/github" }) // "POST /webhooks/github"
 */
export const routeKey = (route: HttpRoute): string => `${route.method} ${route.path}`;

/**
 * Routes of the main API that skip IAM authorization, each with the reason it is safe. Everything else requires a
 * SigV4-signed request, so the caller's IAM identity is who asked (`requestedBy`).
 */
export const publicRoutes: ReadonlyMap<string, string> = new Map([
  [
    "POST /webhooks/github",
    "GitHub cannot sign webhook deliveries with SigV4; it signs each body with HMAC-SHA256 " +
      "(X-Hub-Signature-256), which the function verifies against the secret in Secrets Manager before anything " +
      "is published, answering 401 otherwise. The stage's throttling bounds what an unsigned caller can cost.",
  ],
  [
    "POST /webhooks/alertmanager",
    "Alertmanager cannot sign webhook deliveries with SigV4; it sends a bearer token (http_config.authorization), " +
      "which the function compares in constant time with the token in Secrets Manager before anything is " +
      "published, answering 401 otherwise. The stage's throttling bounds what an unauthenticated caller can cost.",
  ],
  [
    "POST /webhooks/pagerduty",
    "PagerDuty cannot sign webhook deliveries with SigV4; it signs each body with HMAC-SHA256 " +
      "(X-PagerDuty-Signature, v3 webhooks), which the function verifies against the subscription's secret in " +
      "Secrets Manager before acknowledging anything, answering 401 otherwise. The stage's throttling bounds what " +
      "an unsigned caller can cost.",
  ],
]);

/**
 * Steady requests per second across the main API. Its callers are webhooks and platform tools: a busy
 * organisation's pushes and releases arrive at a few a second, Alertmanager sends one request per alert group
 * (however many alerts it holds), both far below this.
 */
export const throttleRateLimitPerSecond = 50;
/** A burst allowance for GitHub's redeliveries and a tool listing promotions page by page. */
export const throttleBurstLimit = 100;

/** A stage's throttling: steady requests per second, and the burst allowed above them. */
export interface StageThrottle {
  rateLimitPerSecond: number;
  burstLimit: number;
}

/**
 * One JSON object per request (structured, so Logs Insights can query it), with who called: the IAM principal
 * the authorizer verified, or nothing on an unauthenticated route. The path and query string are left out on
 * purpose: e-mailed approval links carry their signed token in the query string.
 */
const accessLogFormat = apigateway.AccessLogFormat.custom(
  JSON.stringify({
    requestId: "$context.requestId",
    requestTime: "$context.requestTime",
    routeKey: "$context.routeKey",
    status: "$context.status",
    responseLength: "$context.responseLength",
    responseLatencyMs: "$context.responseLatency",
    integrationStatus: "$context.integrationStatus",
    integrationError: "$context.integrationErrorMessage",
    sourceIp: "$context.identity.sourceIp",
    userAgent: "$context.identity.userAgent",
    callerArn: "$context.identity.userArn",
    authorizerError: "$context.authorizer.error",
  }),
);

/** One route an API serves, and the function behind it. */
export interface ServedRoute {
  route: HttpRoute;
  /** The function's registry id (`Approvals`): names its integration. */
  functionId: string;
  function: lambda.IFunction;
  /**
   * Why the route may skip IAM authorization, recorded as the cdk-nag acknowledgement; without one the route
   * requires a SigV4-signed request.
   */
  unauthenticatedReason?: string;
}

/** What a served HTTP API is built from. */
export interface ServedHttpApiProps {
  apiName: string;
  description: string;
  /** The description of the URL's stack output. */
  urlDescription: string;
  throttle: StageThrottle;
  routes: readonly ServedRoute[];
}

/**
 * An API Gateway HTTP API with Lambda proxy integrations (payload format 2.0, as the local gateway sends, one
 * integration per function), the `$default` stage auto-deployed with throttling and JSON access logs kept as long
 * as function logs, and the URL as a stack output. Every route requires IAM unless it comes with the reason it
 * need not, which becomes its AwsSolutions-APIG4 acknowledgement.
 *
 * @example
 * const api = new ServedHttpApi(this, "Api", {
 *   apiName: "switchyard", description: "…", urlDescription: "…",
 *   throttle: { rateLimitPerSecond: 50, burstLimit: 100 },
 *   routes: [{ route: { method: "GET", path: "/promotions" }, functionId: "GetPromotions", function: fn }],
 * });
 * api.route("GET /promotions");
 */
export class ServedHttpApi extends Construct {
  readonly api: apigwv2.HttpApi;
  readonly stage: apigwv2.HttpStage;
  readonly accessLogs: logs.LogGroup;
  private readonly routes = new Map<string, apigwv2.HttpRoute>();

  constructor(scope: Construct, id: string, props: ServedHttpApiProps) {
    super(scope, id);
    this.api = new apigwv2.HttpApi(this, "HttpApi", {
      apiName: props.apiName,
      description: props.description,
      // The stage is created below, with the logging and throttling the default one cannot have.
      createDefaultStage: false,
    });
    this.accessLogs = new logs.LogGroup(this, "AccessLogs", { retention: functionLogRetention });
    this.stage = this.api.addStage("DefaultStage", {
      stageName: "$default",
      autoDeploy: true,
      throttle: { rateLimit: props.throttle.rateLimitPerSecond, burstLimit: props.throttle.burstLimit },
      accessLogSettings: {
        destination: new apigwv2.LogGroupLogDestination(this.accessLogs),
        format: accessLogFormat,
      },
    });

    const iam = new HttpIamAuthorizer();
    const none = new apigwv2.HttpNoneAuthorizer();
    const integrations = new Map<string, HttpLambdaIntegration>();
    for (const served of props.routes) {
      let integration = integrations.get(served.functionId);
      if (!integration) {
        integration = new HttpLambdaIntegration(`${served.functionId}Integration`, served.function, {
          payloadFormatVersion: apigwv2.PayloadFormatVersion.VERSION_2_0,
        });
        integrations.set(served.functionId, integration);
      }
      const reason = served.unauthenticatedReason;
      const [httpRoute] = this.api.addRoutes({
        path: served.route.path,
        methods: [apigwv2.HttpMethod[served.route.method]],
        integration,
        authorizer: reason ? none : iam,
      });
      if (reason) Validations.of(httpRoute!).acknowledge({ id: "AwsSolutions-APIG4", reason });
      this.routes.set(routeKey(served.route), httpRoute!);
    }

    new CfnOutput(this, "Url", { description: props.urlDescription, value: this.stage.url });
  }

  /** The route with this key (`GET /promotions/{id}`). */
  route(key: string): apigwv2.HttpRoute {
    const route = this.routes.get(key);
    if (!route) throw new Error(`No route "${key}" on ${this.node.path}`);
    return route;
  }
}

/** What the main API is built from. */
export interface ApiProps {
  /** The function registry, keyed by function name; its `http` entries become routes. */
  definitions: Readonly<Record<string, FunctionDefinition>>;
  /** The function registered under a name. */
  function: (name: string) => lambda.IFunction;
}

/**
 * The main API: every `http` route of the registry, IAM-authorized unless listed in `publicRoutes`. Routes marked
 * `pages` are served here too, with IAM, for the CLI and other tools; browsers reach them through the approval
 * pages API instead.
 *
 * @example
 * const api = new Api(this, "Api", { definitions: functions, function: (n) => fns.get(n) });
 * api.route("POST /webhooks/github");
 */
export class Api extends ServedHttpApi {
  constructor(scope: Construct, id: string, props: ApiProps) {
    super(scope, id, {
      apiName: Stack.of(scope).stackName,
      description:
        "Switchyard: GitHub, Alertmanager and PagerDuty webhooks and the API other platform tools drive it with",
      urlDescription:
        "Base URL of the Switchyard HTTP API (SigV4-signed requests, except the three webhooks)",
      throttle: { rateLimitPerSecond: throttleRateLimitPerSecond, burstLimit: throttleBurstLimit },
      routes: Object.entries(props.definitions).flatMap(([name, definition]) =>
        (definition.http ?? []).map((route) => {
          const reason = publicRoutes.get(routeKey(route));
          return {
            route,
            functionId: definition.id,
            function: props.function(name),
            ...(reason && { unauthenticatedReason: reason }),
          };
        }),
      ),
    });
  }
}
