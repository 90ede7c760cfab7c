// The two GitHub secrets in Secrets Manager: the webhook's HMAC secret and the token the GitOps writer commits with.

import { CfnOutput, Validations } from "aws-cdk-lib";
import type * as lambda from "aws-cdk-lib/aws-lambda";
import * as secretsmanager from "aws-cdk-lib/aws-secretsmanager";
import { Construct } from "constructs";

/** Long enough that guessing is out of the question; GitHub accepts webhook secrets of any length. */
const generatedLength = 64;

/** Their names, from switchyard.yaml `github.webhookSecret` / `github.tokenSecret`, which the functions read too. */
export interface GithubSecretsProps {
  webhookSecretName: string;
  tokenSecretName: string;
  /** switchyard.yaml's `secrets[]` rotates the webhook secret (api-key): SecretRotation attaches the schedule. */
  webhookSecretRotated?: boolean;
}

/**
 * Both secrets, created with generated values so nothing secret is ever in the template or the repository.
 *
 * - The webhook secret's generated value is the real one: the operator copies it into the GitHub webhook's
 *   settings (`aws secretsmanager get-secret-value --secret-id <name>`).
 * - The token's generated value is a placeholder that GitHub rejects; the operator sets the real token (a GitHub
 *   App installation token or a fine-grained token with contents write on the GitOps repository) with
 *   `aws secretsmanager put-secret-value --secret-id <name> --secret-string <token>`. Until then commits fail
 *   with GitHub's 401, loudly, and promotions end Errored.
 *
 * The token never rotates here: GitHub issues it. The webhook secret rotates only when `secrets[]` lists it (strategy
 * api-key, scheduled by SecretRotation); GitHub's copy must then be updated within `rotation.overlapHours`, while
 * the function still accepts AWSPREVIOUS, since nothing updates GitHub's webhook settings for it.
 *
 * @example
 * const secrets = new GithubSecrets(this, "GithubSecrets", { webhookSecretName, tokenSecretName });
 * secrets.grantReadWebhookSecret(fns.get("ingest-github-webhook"));
 */
export class GithubSecrets extends Construct {
  readonly webhookSecret: secretsmanager.Secret;
  readonly token: secretsmanager.Secret;

  constructor(scope: Construct, id: string, props: GithubSecretsProps) {
    super(scope, id);
    this.webhookSecret = new secretsmanager.Secret(this, "WebhookSecret", {
      secretName: props.webhookSecretName,
      description:
        "HMAC secret of the Switchyard GitHub webhook (X-Hub-Signature-256); set the same value in GitHub's webhook settings",
      generateSecretString: { passwordLength: generatedLength, excludePunctuation: true },
    });
    this.token = new secretsmanager.Secret(this, "Token", {
      secretName: props.tokenSecretName,
      description:
        "GitHub token the Switchyard GitOps writer commits with; generated placeholder, replace it with " +
        "aws secretsmanager put-secret-value",
      generateSecretString: { passwordLength: generatedLength, excludePunctuation: true },
    });

    if (!props.webhookSecretRotated) {
      Validations.of(this.webhookSecret).acknowledge({
        id: "AwsSolutions-SMG4",
        reason:
          "A webhook secret only works when GitHub holds the same value, and GitHub has no API a rotation Lambda " +
          "could use to keep them in step without a GitHub App; it is rotated by hand in both places (or by " +
          "listing it in switchyard.yaml secrets with api-key), and the function accepts AWSPREVIOUS meanwhile.",
      });
    }
    Validations.of(this.token).acknowledge({
      id: "AwsSolutions-SMG4",
      reason:
        "The value is a token GitHub issues (and expires); Secrets Manager cannot mint a new one. The operator " +
        "puts each new token with put-secret-value, and the function re-reads it within five minutes.",
    });

    new CfnOutput(this, "WebhookSecretName", {
      description: "Copy this secret's value into the GitHub webhook's secret",
      value: props.webhookSecretName,
    });
    new CfnOutput(this, "TokenSecretName", {
      description:
        "Set the real GitHub token: aws secretsmanager put-secret-value --secret-id <this> --secret-string <token>",
      value: props.tokenSecretName,
    });
  }

  /** Lets `fn` read the webhook secret (its current and pending versions); the name comes from its configuration. */
  grantReadWebhookSecret(fn: lambda.IFunction): void {
    this.webhookSecret.grantRead(fn);
  }

  /** Lets `fn` read the GitHub token; the name comes from its configuration. */
  grantReadToken(fn: lambda.IFunction): void {
    this.token.grantRead(fn);
  }
}
