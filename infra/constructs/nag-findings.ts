// The resource text cdk-nag writes into a finding id, so an acknowledgement can name exactly one resource.

import { Stack } from "aws-cdk-lib";
import type { IConstruct } from "constructs";

type Intrinsic = { Ref?: unknown; "Fn::GetAtt"?: unknown; "Fn::Join"?: unknown };

const flatten = (node: unknown): string => {
  if (node === undefined) return "";
  // Fn::Sub syntax becomes angle brackets, as in cdk-nag's own suppression format.
  if (typeof node === "string") return node.replace(/\$\{/g, "<").replace(/\}/g, ">");
  const intrinsic = node as Intrinsic;
  if (Array.isArray(intrinsic["Fn::Join"])) {
    const [delimiter, items] = intrinsic["Fn::Join"] as [string, unknown[]];
    return items.map(flatten).join(delimiter);
  }
  if (Array.isArray(intrinsic["Fn::GetAtt"])) {
    const [resource, attribute] = intrinsic["Fn::GetAtt"] as [unknown, unknown];
    return `<${flatten(resource)}.${flatten(attribute)}>`;
  }
  if (intrinsic.Ref !== undefined) return `<${flatten(intrinsic.Ref)}>`;
  return JSON.stringify(node);
};

/**
 * How cdk-nag shows a policy resource in a finding (`AwsSolutions-IAM5[Resource::<this>]`): references flattened
 * to `<LogicalId.Attribute>` and `<AWS::Partition>`. Acknowledging that exact id covers this one resource, not
 * every wildcard the policy might gain later.
 *
 * @example
 * Validations.of(policy).acknowledge({ id: `AwsSolutions-IAM5[Resource::${nagResourceText(policy, arn)}]`, reason });
 */
export const nagResourceText = (scope: IConstruct, resource: string): string =>
  flatten(Stack.of(scope).resolve(resource));
