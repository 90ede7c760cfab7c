// Where the functions that log in to databases run (rotation, drill smoke query): a VPC named in CDK context.

import { Annotations, CfnOutput, Fn } from "aws-cdk-lib";
import * as ec2 from "aws-cdk-lib/aws-ec2";
import { Construct, type Node } from "constructs";
import { ConfigError } from "../../functions/core/errors.ts";
import type { FunctionVpcPlacement } from "./functions.ts";

/** The CDK context keys (cdk.json, or `cdk synth -c rotationVpcId=vpc-…`) that place the rotation function. */
export const rotationNetworkContextKeys = {
  vpcId: "rotationVpcId",
  subnetIds: "rotationSubnetIds",
  securityGroupIds: "rotationSecurityGroupIds",
} as const;

/** The VPC the rotation function runs in, by id: referenced as given, so `cdk synth` needs no AWS credentials. */
export interface RotationNetworkProps {
  vpcId: string;
  /** Private subnets (ideally one per availability zone) routed to the databases and to Secrets Manager. */
  subnetIds: readonly string[];
  /** Security groups the databases admit; none: the stack creates one and names it in an output. */
  securityGroupIds: readonly string[];
}

/** PostgreSQL's port, which the created security group may reach (the rotated secrets' `port` defaults to it). */
export const postgresPort = 5432;
/** HTTPS, for the Secrets Manager API (through an interface endpoint or a NAT gateway). */
const httpsPort = 443;

/** EC2 resource ids: a prefix and 8 or 17 hex digits. */
const ec2Id = (prefix: string) => ({
  pattern: new RegExp(`^${prefix}-[0-9a-f]{8}(?:[0-9a-f]{9})?$`),
  example: `${prefix}-0123456789abcdef0`,
});
const idFormats = { vpc: ec2Id("vpc"), subnet: ec2Id("subnet"), "security group": ec2Id("sg") } as const;

/** A context value as `-c key=a,b` (a string) or cdk.json (a string or a list of strings) gives it. */
const listOf = (key: string, value: unknown): string[] => {
  if (value === undefined) return [];
  const items = typeof value === "string" ? value.split(",") : value;
  if (!Array.isArray(items) || !items.every((item): item is string => typeof item === "string")) {
    throw new ConfigError(
      `CDK context "${key}" must be a comma-separated string or a list of strings, not ${JSON.stringify(value)}`,
    );
  }
  return items.map((item) => item.trim()).filter((item) => item !== "");
};

const checkIds = (key: string, ids: readonly string[], what: keyof typeof idFormats): void => {
  const { pattern, example } = idFormats[what];
  const bad = ids.filter((id) => !pattern.test(id));
  if (bad.length > 0) {
    throw new ConfigError(
      `CDK context "${key}" has ${bad.map((id) => `"${id}"`).join(", ")}: expected ${what} ids such as ${example}`,
    );
  }
};

/**
 * Reads the rotation function's network from CDK context: nothing without `rotationVpcId`; with it,
 * `rotationSubnetIds` is required (a VPC's subnets cannot be listed offline) and `rotationSecurityGroupIds` optional.
 * Ids that AWS would refuse, or subnets without a VPC, stop synth with a message naming the key.
 *
 * @example
 * // cdk synth -c rotationVpcId=vpc-0a1b2c3d4e5f60718 -c rotationSubnetIds=subnet-0a1b2c3d4e5f60718,subnet-…
 * const network = rotationNetworkFromContext(app.node); // { vpcId, subnetIds: [...], securityGroupIds: [] }
 */
export const rotationNetworkFromContext = (node: Node): RotationNetworkProps | undefined => {
  const keys = rotationNetworkContextKeys;
  const vpcId: unknown = node.tryGetContext(keys.vpcId);
  const subnetIds = listOf(keys.subnetIds, node.tryGetContext(keys.subnetIds));
  const securityGroupIds = listOf(keys.securityGroupIds, node.tryGetContext(keys.securityGroupIds));
  if (vpcId === undefined || vpcId === "") {
    if (subnetIds.length > 0 || securityGroupIds.length > 0) {
      throw new ConfigError(
        `CDK context "${keys.subnetIds}"/"${keys.securityGroupIds}" need "${keys.vpcId}", the VPC they belong to`,
      );
    }
    return undefined;
  }
  if (typeof vpcId !== "string") {
    throw new ConfigError(`CDK context "${keys.vpcId}" must be a VPC id, not ${JSON.stringify(vpcId)}`);
  }
  checkIds(keys.vpcId, [vpcId], "vpc");
  if (subnetIds.length === 0) {
    throw new ConfigError(
      `CDK context "${keys.vpcId}" is set but "${keys.subnetIds}" is not: name the private subnets the rotation ` +
        "function runs in (comma-separated), which synth cannot look up without AWS credentials",
    );
  }
  checkIds(keys.subnetIds, subnetIds, "subnet");
  checkIds(keys.securityGroupIds, securityGroupIds, "security group");
  return { vpcId, subnetIds: [...new Set(subnetIds)], securityGroupIds: [...new Set(securityGroupIds)] };
};

/**
 * The VPC, subnets and security groups of `RotationNetworkProps` as references (`Vpc.fromVpcAttributes`,
 * `Subnet.fromSubnetId`, `SecurityGroup.fromSecurityGroupId`: no lookup, so synth stays offline), or, without
 * security groups, a new one that may reach PostgreSQL and HTTPS anywhere: the databases' own security groups
 * decide who connects, and the stack output names the group to admit.
 *
 * The subnets must reach Secrets Manager (the function reads and writes the secret): an interface VPC endpoint
 * `com.amazonaws.<region>.secretsmanager` with private DNS, or a NAT gateway. Without either every rotation times
 * out in createSecret. Lambda gives a function in a VPC no public IP, so public subnets do not help.
 *
 * @example
 * const network = new RotationNetwork(this, "RotationNetwork", { vpcId, subnetIds, securityGroupIds: [] });
 * new Functions(this, "Functions", { ..., vpcFor: (name) => (name === "rotate-secret" ? network.placement : undefined) });
 */
export class RotationNetwork extends Construct {
  readonly placement: FunctionVpcPlacement;
  /** The security group the stack created; none when the context named the groups. */
  readonly securityGroup: ec2.SecurityGroup | undefined;

  constructor(scope: Construct, id: string, props: RotationNetworkProps) {
    super(scope, id);
    const vpc = ec2.Vpc.fromVpcAttributes(this, "Vpc", {
      vpcId: props.vpcId,
      // Required by the type but never consulted: the function names its subnets, so nothing selects by zone.
      availabilityZones: Fn.getAzs(),
    });
    Annotations.of(vpc).acknowledgeWarning(
      "@aws-cdk/aws-ec2:vpcAttributeIsListTokenavailabilityZones",
      "Only the rotation function uses this VPC, with its subnets named: no construct selects subnets by zone",
    );
    const subnets = props.subnetIds.map((subnetId) => {
      const subnet = ec2.Subnet.fromSubnetId(this, subnetId, subnetId);
      Annotations.of(subnet).acknowledgeWarning(
        "@aws-cdk/aws-ec2:noSubnetRouteTableId",
        "Nothing here reads the subnet's route table: the stack adds no routes or gateway endpoints to it",
      );
      return subnet;
    });
    this.securityGroup =
      props.securityGroupIds.length === 0
        ? new ec2.SecurityGroup(this, "SecurityGroup", {
            vpc,
            description:
              "Switchyard rotation function: PostgreSQL to the databases, HTTPS to Secrets Manager",
            allowAllOutbound: false,
          })
        : undefined;
    if (this.securityGroup) {
      this.securityGroup.addEgressRule(
        ec2.Peer.anyIpv4(),
        ec2.Port.tcp(postgresPort),
        "PostgreSQL on the databases",
      );
      this.securityGroup.addEgressRule(
        ec2.Peer.anyIpv4(),
        ec2.Port.tcp(httpsPort),
        "Secrets Manager API (interface endpoint or NAT)",
      );
      new CfnOutput(this, "SecurityGroupId", {
        description:
          `Security group of the rotation function and the restore drills' smoke query: admit it on port ${postgresPort} ` +
          "in each rotated database's security group and in the drill instances' (snapshots.drill.securityGroupIds, " +
          "else the source database's). Its subnets must reach Secrets Manager through an interface endpoint or a " +
          "NAT gateway.",
        value: this.securityGroup.securityGroupId,
      });
    }
    const securityGroups = this.securityGroup
      ? [this.securityGroup]
      : props.securityGroupIds.map((groupId) =>
          ec2.SecurityGroup.fromSecurityGroupId(this, groupId, groupId),
        );
    this.placement = { vpc, subnets, securityGroups };
  }
}
