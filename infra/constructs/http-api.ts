// The HTTP API: one route per `http` entry of functions/registry.ts, IAM-authorized unless listed as public here.

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
 * Routes that skip IAM authorization, each with the reason it is safe. Everything else requires a SigV4-signed
 * request, so the caller's IAM identity is who asked (`requestedBy`).
 */
export const publicRoutes: ReadonlyMap<string, string> = new Map([
  [
    "POST /webhooks/github",
    "GitHub cannot sign webhook deliveries with SigV4; it signs each body with HMAC-SHA256 " +
      "(X-Hub-Signature-256), which the function verifies against the secret in Secrets Manager before anything " +
      "is published, answering 401 otherwise. The stage's throttling bounds what an unsigned caller can cost.",
  ],
]);

/**
 * Steady requests per second across the API. Its callers are GitHub webhooks and platform tools: a busy
 * organisation's pushes and releases arrive at a few a second, far below this.
 */
export const throttleRateLimitPerSecond = 50;
/** A burst allowance for GitHub's redeliveries and a tool listing promotions page by page. */
export const throttleBurstLimit = 100;

/**
 * One JSON object per request (structured, so Logs Insights can query it), with who called: the IAM principal
 * the authorizer verified, or nothing on a public route.
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

/** What the API is built from. */
export interface ApiProps {
  /** The function registry, keyed by function name; its `http` entries become routes. */
  definitions: Readonly<Record<string, FunctionDefinition>>;
  /** The function registered under a name. */
  function: (name: string) => lambda.IFunction;
}

/**
 * An API Gateway HTTP API with Lambda proxy integrations (payload format 2.0, as the local gateway sends), the
 * `$default` stage auto-deployed with throttling and JSON access logs, and the URL as a stack output.
 *
 * @example
 * const api = new Api(this, "Api", { definitions: functions, function: (n) => fns.get(n) });
 * api.route("POST /webhooks/github");
 */
export class Api extends Construct {
  readonly api: apigwv2.HttpApi;
  readonly stage: apigwv2.HttpStage;
  readonly accessLogs: logs.LogGroup;
  private readonly routes = new Map<string, apigwv2.HttpRoute>();

  constructor(scope: Construct, id: string, props: ApiProps) {
    super(scope, id);
    this.api = new apigwv2.HttpApi(this, "HttpApi", {
      apiName: Stack.of(this).stackName,
      description: "Switchyard: GitHub webhooks and the API other platform tools drive it with",
      // The stage is created below, with the logging and throttling the default one cannot have.
      createDefaultStage: false,
    });
    this.accessLogs = new logs.LogGroup(this, "AccessLogs", { retention: functionLogRetention });
    this.stage = this.api.addStage("DefaultStage", {
      stageName: "$default",
      autoDeploy: true,
      throttle: { rateLimit: throttleRateLimitPerSecond, burstLimit: throttleBurstLimit },
      accessLogSettings: {
        destination: new apigwv2.LogGroupLogDestination(this.accessLogs),
        format: accessLogFormat,
      },
    });

    const iam = new HttpIamAuthorizer();
    const none = new apigwv2.HttpNoneAuthorizer();
    for (const [name, definition] of Object.entries(props.definitions)) {
      if (!definition.http) continue;
      const integration = new HttpLambdaIntegration(`${definition.id}Integration`, props.function(name), {
        payloadFormatVersion: apigwv2.PayloadFormatVersion.VERSION_2_0,
      });
      for (const route of definition.http) {
        const key = routeKey(route);
        const publicReason = publicRoutes.get(key);
        const [httpRoute] = this.api.addRoutes({
          path: route.path,
          methods: [apigwv2.HttpMethod[route.method]],
          integration,
          authorizer: publicReason ? none : iam,
        });
        if (publicReason) {
          Validations.of(httpRoute!).acknowledge({ id: "AwsSolutions-APIG4", reason: publicReason });
        }
        this.routes.set(key, httpRoute!);
      }
    }

    new CfnOutput(this, "Url", {
      description: "Base URL of the Switchyard HTTP API (SigV4-signed requests, except the GitHub webhook)",
      value: this.stage.url,
    });
  }

  /** The route with this key (`GET /promotions/{id}`). */
  route(key: string): apigwv2.HttpRoute {
    const route = this.routes.get(key);
    if (!route) throw new Error(`No route "${key}" in the functions registry`);
    return route;
  }
}
