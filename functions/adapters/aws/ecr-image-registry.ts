// The production ImageRegistry: Amazon ECR's DescribeImages, by tag or by digest.

import { TransientError } from "../../core/errors.ts";
import type { ImageRegistry, RegistryImage } from "../../core/ports.ts";
import { isTransientSdkError, sdkErrorName } from "./sdk-errors.ts";

/** ECR's `ImageIdentifier`: a tag, a digest, or both (then both must name the same image). */
export interface EcrImageIdentifier {
  imageTag?: string;
  imageDigest?: string;
}

/** The part of ECR's `DescribeImagesRequest` this adapter sends (typed as the SDK types it, so its class fits). */
export interface DescribeImagesInput {
  /** Required by ECR; the SDK types required members `| undefined`. */
  repositoryName: string | undefined;
  /** The registry (AWS account id); the caller's own when absent. */
  registryId?: string;
  imageIds?: EcrImageIdentifier[];
}

/** The part of ECR's `ImageDetail` this adapter reads (the SDK deserialises `imagePushedAt` to a Date). */
export interface EcrImageDetail {
  registryId?: string;
  repositoryName?: string;
  imageDigest?: string;
  /** Absent for an untagged image. */
  imageTags?: string[];
  imagePushedAt?: Date;
}

/** The part of ECR's `DescribeImagesResponse` this adapter reads. */
export interface DescribeImagesOutput {
  imageDetails?: EcrImageDetail[];
  nextToken?: string;
}

/** What the SDK's `DescribeImagesCommand` is to this adapter: its input, carried to `send`. */
export interface DescribeImagesCommandLike {
  readonly input: DescribeImagesInput;
}

/** The slice of `ECRClient` this adapter calls. */
export interface EcrClientLike {
  send(command: DescribeImagesCommandLike): Promise<DescribeImagesOutput>;
}

export interface EcrImageRegistryOptions {
  client: EcrClientLike;
  /**
   * The SDK's `DescribeImagesCommand` class: the real client runs a command through its own middleware, so the
   * adapter must build the SDK's command, not a look-alike.
   */
  describeImagesCommand: new (
    input: DescribeImagesInput,
  ) => DescribeImagesCommandLike;
  /** Another account's registry; the caller's own when absent. */
  registryId?: string;
}

/** DescribeImages' answers for "there is no such image": a missing tag or digest, or a missing repository. */
const notFoundErrorNames = new Set(["ImageNotFoundException", "RepositoryNotFoundException"]);

/** Answers a later attempt may well not get: throttling and ECR's own server errors. */
const transientErrorNames = new Set([
  "ThrottlingException",
  "TooManyRequestsException",
  "RequestLimitExceeded",
  "ServerException",
]);
const isTransient = (error: unknown): boolean => isTransientSdkError(error, transientErrorNames);
const errorName = sdkErrorName;

const describeRef = (repository: string, ref: { tag: string } | { digest: string }): string =>
  "tag" in ref ? `${repository}:${ref.tag}` : `${repository}@${ref.digest}`;

/**
 * The ImageRegistry port on Amazon ECR: one `DescribeImages` call per lookup, naming the image by `imageTag` or
 * `imageDigest`. ECR answers a missing image with `ImageNotFoundException` and a missing repository with
 * `RepositoryNotFoundException`; both mean "no such image" (undefined). Throttling and ECR server errors become a
 * `TransientError` (with the SDK error as `cause`), which the workflow retries; any other error (access denied, an
 * invalid parameter) is the SDK's, untouched. Tags are returned sorted, `imagePushedAt` as ISO 8601.
 *
 * @example
 * const registry = new EcrImageRegistry({ client: new ECRClient({}), describeImagesCommand: DescribeImagesCommand });
 * await registry.findImage("checkout", { tag: "1.4.2" });
 * // { repository: "checkout", digest: "sha256:…", tags: ["1.4.2", "stable"], pushedAt: "2025-01-14T09:30:12.000Z" }
 */
export class EcrImageRegistry implements ImageRegistry {
  private readonly client: EcrClientLike;
  private readonly describeImagesCommand: EcrImageRegistryOptions["describeImagesCommand"];
  private readonly registryId: string | undefined;

  constructor(options: EcrImageRegistryOptions) {
    this.client = options.client;
    this.describeImagesCommand = options.describeImagesCommand;
    this.registryId = options.registryId;
  }

  async findImage(
    repository: string,
    ref: { tag: string } | { digest: string },
  ): Promise<RegistryImage | undefined> {
    const imageId: EcrImageIdentifier = "tag" in ref ? { imageTag: ref.tag } : { imageDigest: ref.digest };
    let output: DescribeImagesOutput;
    try {
      output = await this.client.send(
        new this.describeImagesCommand({
          repositoryName: repository,
          ...(this.registryId !== undefined && { registryId: this.registryId }),
          imageIds: [imageId],
        }),
      );
    } catch (error) {
      if (notFoundErrorNames.has(errorName(error))) return undefined;
      if (isTransient(error)) {
        throw new TransientError(
          `ECR DescribeImages for ${describeRef(repository, ref)} failed (${errorName(error) || "no answer"})`,
          { cause: error },
        );
      }
      throw error;
    }
    const detail = output.imageDetails?.[0];
    if (detail === undefined) return undefined;
    if (detail.imageDigest === undefined || detail.imagePushedAt === undefined) {
      throw new TransientError(
        `ECR DescribeImages for ${describeRef(repository, ref)} answered without imageDigest or imagePushedAt`,
      );
    }
    return {
      repository: detail.repositoryName ?? repository,
      digest: detail.imageDigest,
      tags: [...(detail.imageTags ?? [])].sort(),
      pushedAt: new Date(detail.imagePushedAt).toISOString(),
    };
  }
}
