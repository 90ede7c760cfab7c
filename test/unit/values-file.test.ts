// Tests of the values-file editor: byte-exact results of setting an image in every shape a Helm values file comes in.

import { describe, expect, it } from "vitest";
import { configSchema } from "../../functions/core/config.ts";
import { readImage, setImage } from "../../functions/core/values-file.ts";
import { seedFiles } from "../../local/gitops-seed.ts";

const file = "envs/staging/checkout/values.yaml";
const oldDigest = `sha256:${"a".repeat(64)}`;
const newDigest = `sha256:${"b".repeat(64)}`;

/** Builds a file from lines, so expectations show every byte, line breaks included. */
const lines = (...text: string[]): string => `${text.join("\n")}\n`;
const crlf = (...text: string[]): string => `${text.join("\r\n")}\r\n`;

describe("setImage", () => {
  it.each([
    {
      name: "replaces tag and digest in place, keeping comments, blank lines, key order and quoting",
      input: lines(
        "# Helm values for checkout in staging.",
        "",
        "replicaCount: 2 # two for the demo",
        "",
        "image:",
        "  repository: 123456789012.dkr.ecr.eu-west-1.amazonaws.com/checkout # where it lives",
        '  tag: "1.4.1" # set by Switchyard',
        `  digest: '${oldDigest}'`,
        "  pullPolicy: IfNotPresent",
        "",
        "# resources come last",
        "resources: {}",
      ),
      image: { tag: "1.5.0", digest: newDigest },
      expected: lines(
        "# Helm values for checkout in staging.",
        "",
        "replicaCount: 2 # two for the demo",
        "",
        "image:",
        "  repository: 123456789012.dkr.ecr.eu-west-1.amazonaws.com/checkout # where it lives",
        '  tag: "1.5.0" # set by Switchyard',
        `  digest: '${newDigest}'`,
        "  pullPolicy: IfNotPresent",
        "",
        "# resources come last",
        "resources: {}",
      ),
    },
    {
      name: "keeps plain scalars plain",
      input: lines("image:", "  tag: 1.4.1", `  digest: ${oldDigest}`),
      image: { tag: "v1.5.0", digest: newDigest },
      expected: lines("image:", "  tag: v1.5.0", `  digest: ${newDigest}`),
    },
    {
      name: "keeps single quotes, doubling a quote inside",
      input: lines("image:", "  tag: '1.4.1'", `  digest: "${oldDigest}"`),
      image: { tag: "1.5.0", digest: newDigest },
      expected: lines("image:", "  tag: '1.5.0'", `  digest: "${newDigest}"`),
    },
    {
      name: "keeps CRLF line endings, on changed and added lines alike",
      input: crlf("# values", "image:", "  repository: checkout", "  tag: 1.4.1 # pinned", "replicaCount: 1"),
      image: { tag: "1.5.0", digest: newDigest },
      expected: crlf(
        "# values",
        "image:",
        "  repository: checkout",
        "  tag: 1.5.0 # pinned",
        `  digest: ${newDigest}`,
        "replicaCount: 1",
      ),
    },
    {
      name: "adds a missing digest after the tag",
      input: lines("image:", "  repository: checkout", '  tag: "1.4.1"', "  pullPolicy: Always"),
      image: { tag: "1.4.1", digest: newDigest },
      expected: lines(
        "image:",
        "  repository: checkout",
        '  tag: "1.4.1"',
        `  digest: ${newDigest}`,
        "  pullPolicy: Always",
      ),
    },
    {
      name: "adds a missing tag after the repository",
      input: lines("image:", "  repository: checkout", `  digest: ${oldDigest}`),
      image: { tag: "1.5.0", digest: newDigest },
      expected: lines("image:", "  repository: checkout", "  tag: 1.5.0", `  digest: ${newDigest}`),
    },
    {
      name: "adds a missing tag before the digest when there is no repository",
      input: lines("image:", "  pullPolicy: Always", `  digest: ${oldDigest}`),
      image: { tag: "1.5.0", digest: newDigest },
      expected: lines("image:", "  pullPolicy: Always", "  tag: 1.5.0", `  digest: ${newDigest}`),
    },
    {
      name: "adds both after the repository, with the block's own indentation",
      input: lines(
        "image:",
        "    repository: checkout",
        "    pullPolicy: Always",
        "service:",
        "    port: 80",
      ),
      image: { tag: "1.5.0", digest: newDigest },
      expected: lines(
        "image:",
        "    repository: checkout",
        "    tag: 1.5.0",
        `    digest: ${newDigest}`,
        "    pullPolicy: Always",
        "service:",
        "    port: 80",
      ),
    },
    {
      name: "appends an image mapping when there is none, indented like the file",
      input: lines("# values", "resources:", "    limits:", "        memory: 256Mi", "# end"),
      image: { tag: "1.5.0", digest: newDigest },
      expected: lines(
        "# values",
        "resources:",
        "    limits:",
        "        memory: 256Mi",
        "# end",
        "image:",
        "    tag: 1.5.0",
        `    digest: ${newDigest}`,
      ),
    },
    {
      name: "appends after a last line without a line break",
      input: "replicaCount: 1",
      image: { tag: "1.5.0", digest: newDigest },
      expected: lines("replicaCount: 1", "image:", "  tag: 1.5.0", `  digest: ${newDigest}`),
    },
    {
      name: "fills an empty file",
      input: "",
      image: { tag: "1.5.0", digest: newDigest },
      expected: lines("image:", "  tag: 1.5.0", `  digest: ${newDigest}`),
    },
    {
      name: "fills a file of comments only",
      input: lines("# values for checkout", "# (none yet)"),
      image: { tag: "1.5.0", digest: newDigest },
      expected: lines(
        "# values for checkout",
        "# (none yet)",
        "image:",
        "  tag: 1.5.0",
        `  digest: ${newDigest}`,
      ),
    },
    {
      name: "fills an empty image key",
      input: lines("image:", "replicaCount: 1"),
      image: { tag: "1.5.0", digest: newDigest },
      expected: lines("image:", "  tag: 1.5.0", `  digest: ${newDigest}`, "replicaCount: 1"),
    },
    {
      name: "fills an explicit null image, keeping its comment",
      input: lines("image: ~ # set on first promotion", "replicaCount: 1"),
      image: { tag: "1.5.0", digest: newDigest },
      expected: lines(
        "image: # set on first promotion",
        "  tag: 1.5.0",
        `  digest: ${newDigest}`,
        "replicaCount: 1",
      ),
    },
    {
      name: "fills an empty tag value",
      input: lines("image:", "  tag:", `  digest: ${oldDigest}`),
      image: { tag: "1.5.0", digest: newDigest },
      expected: lines("image:", "  tag: 1.5.0", `  digest: ${newDigest}`),
    },
    {
      name: "replaces inside a flow mapping",
      input: lines(`image: { repository: checkout, tag: "1.4.1", digest: "${oldDigest}" } # flow`),
      image: { tag: "1.5.0", digest: newDigest },
      expected: lines(`image: { repository: checkout, tag: "1.5.0", digest: "${newDigest}" } # flow`),
    },
    {
      name: "adds a missing digest to a flow mapping, quoted since go-yaml may split on ':' there",
      input: lines("image: {repository: checkout, tag: 1.4.1}"),
      image: { tag: "1.5.0", digest: newDigest },
      expected: lines(`image: {repository: checkout, tag: 1.5.0, digest: "${newDigest}"}`),
    },
    {
      name: "fills an empty flow mapping",
      input: lines("image: {}"),
      image: { tag: "1.5.0", digest: newDigest },
      expected: lines(`image: { tag: 1.5.0, digest: "${newDigest}" }`),
    },
    {
      name: "adds an image to a top-level flow mapping",
      input: lines("{replicaCount: 1}"),
      image: { tag: "1.5.0", digest: newDigest },
      expected: lines(`{replicaCount: 1, image: { tag: 1.5.0, digest: "${newDigest}" }}`),
    },
    {
      name: "changes only the digest when the tag is the same (a moving tag re-pinned)",
      input: lines("image:", "  tag: stable # follows stable", `  digest: ${oldDigest}`),
      image: { tag: "stable", digest: newDigest },
      expected: lines("image:", "  tag: stable # follows stable", `  digest: ${newDigest}`),
    },
    {
      name: "removes a tag that a digest-only promotion makes wrong",
      input: lines(
        "image:",
        "  repository: checkout",
        "  tag: 1.4.1",
        `  digest: ${oldDigest}`,
        "  pullPolicy: Always",
      ),
      image: { digest: newDigest },
      expected: lines("image:", "  repository: checkout", `  digest: ${newDigest}`, "  pullPolicy: Always"),
    },
    {
      name: "replaces a removed tag's line with the digest it lacked",
      input: lines("image:", "  tag: 1.4.1", "replicaCount: 1"),
      image: { digest: newDigest },
      expected: lines("image:", `  digest: ${newDigest}`, "replicaCount: 1"),
    },
    {
      name: "removes a tag from a flow mapping",
      input: lines(`image: { tag: 1.4.1, digest: "${oldDigest}" }`),
      image: { digest: newDigest },
      expected: lines(`image: { digest: "${newDigest}" }`),
    },
    {
      name: "turns a block scalar tag into a one-line scalar",
      input: lines("image:", "  tag: |", "    1.4.1", `  digest: ${oldDigest}`),
      image: { tag: "1.5.0", digest: oldDigest },
      expected: lines("image:", "  tag: 1.5.0", `  digest: ${oldDigest}`),
    },
    {
      name: "keeps an explicit !!str tag on the value",
      input: lines("image:", "  tag: !!str 1.4", `  digest: ${oldDigest}`),
      image: { tag: "1.5", digest: oldDigest },
      expected: lines("image:", '  tag: !!str "1.5"', `  digest: ${oldDigest}`),
    },
    {
      name: "keeps a document start marker and a byte-order mark",
      input: `\uFEFF${lines("---", "image:", "  tag: 1.4.1")}`,
      image: { tag: "1.5.0", digest: newDigest },
      expected: `\uFEFF${lines("---", "image:", "  tag: 1.5.0", `  digest: ${newDigest}`)}`,
    },
  ])("$name", ({ input, image, expected }) => {
    const result = setImage(input, image, file);

    expect(result.content).toBe(expected);
    expect(result.changed).toBe(true);
  });

  it.each([
    { tag: "1.5.0", written: "1.5.0" },
    { tag: "v2", written: "v2" },
    { tag: "main-abc1234", written: "main-abc1234" },
    { tag: "stable", written: "stable" },
    { tag: "1.10", written: '"1.10"' },
    { tag: "2", written: '"2"' },
    { tag: "1e3", written: '"1e3"' },
    { tag: "0x1F", written: '"0x1F"' },
    { tag: "true", written: '"true"' },
    { tag: "False", written: '"False"' },
    { tag: "null", written: '"null"' },
    { tag: "yes", written: '"yes"' },
    { tag: "on", written: '"on"' },
    { tag: "n", written: '"n"' },
    { tag: "1_000", written: '"1_000"' },
    { tag: "2026-01-01", written: '"2026-01-01"' },
  ])("writes tag $tag over a plain tag as $written", ({ tag, written }) => {
    const input = lines("image:", "  tag: 0.0.1", `  digest: ${oldDigest}`);

    const result = setImage(input, { tag, digest: oldDigest }, file);

    expect(result.content).toBe(lines("image:", `  tag: ${written}`, `  digest: ${oldDigest}`));
    expect(readImage(result.content, file).tag).toBe(tag);
  });

  it.each([
    {
      name: "same tag and digest",
      input: lines("image:", '  tag: "1.4.1"', `  digest: ${oldDigest}`),
      image: { tag: "1.4.1", digest: oldDigest },
    },
    {
      name: "same digest, no tag given (the tag still names this image)",
      input: lines("image:", "  tag: 1.4.1", `  digest: ${oldDigest}`),
      image: { digest: oldDigest },
    },
    {
      name: "same tag written as a YAML number",
      input: crlf("image:", "  tag: 1.10", `  digest: ${oldDigest}`),
      image: { tag: "1.10", digest: oldDigest },
    },
  ])("leaves the file byte for byte when nothing changes: $name", ({ input, image }) => {
    const result = setImage(input, image, file);

    expect(result).toEqual({ content: input, previous: readImage(input, file), changed: false });
    expect(result.content).toBe(input);
  });

  it("reports the image the file named before", () => {
    const input = lines("image:", "  repository: checkout", "  tag: 1.10", `  digest: '${oldDigest}'`);

    expect(setImage(input, { tag: "1.11", digest: newDigest }, file).previous).toEqual({
      tag: "1.10",
      digest: oldDigest,
    });
    expect(setImage(lines("replicaCount: 1"), { tag: "1.11", digest: newDigest }, file).previous).toEqual({});
  });

  it("allows an empty trailing document, which Helm ignores, and adds to the first", () => {
    const image = { tag: "1.5.0", digest: newDigest };

    expect(setImage(lines("image:", "  tag: 1.4.1", "---"), image, file).content).toBe(
      lines("image:", "  tag: 1.5.0", `  digest: ${newDigest}`, "---"),
    );
    expect(setImage(lines("replicaCount: 1", "# end", "---"), image, file).content).toBe(
      lines("replicaCount: 1", "# end", "image:", "  tag: 1.5.0", `  digest: ${newDigest}`, "---"),
    );
  });

  it.each([
    { name: "invalid YAML", input: lines("image:", "  tag: [1.4.1"), message: /invalid YAML/ },
    {
      name: "a duplicate key",
      input: lines("image: {}", "image: {}"),
      message: /invalid YAML: Map keys must be unique/,
    },
    {
      name: "several documents",
      input: lines("image:", "  tag: 1.4.1", "---", "image:", "  tag: 1.4.2"),
      message: /more than one YAML document/,
    },
    { name: "a top-level list", input: lines("- image: x"), message: /top level is not a mapping/ },
    { name: "a top-level scalar", input: lines("just text"), message: /top level is not a mapping/ },
    { name: "an image string", input: lines("image: checkout:1.4.1"), message: /`image` is not a mapping/ },
    { name: "an image list", input: lines("image:", "  - checkout"), message: /`image` is not a mapping/ },
    {
      name: "an image behind an alias",
      input: lines("base: &base", "  tag: 1.4.1", "image: *base"),
      message: /`image` is not a mapping/,
    },
    {
      name: "a tag that is a mapping",
      input: lines("image:", "  tag: { v: 1 }"),
      message: /image.tag is not a single/,
    },
  ])("refuses $name with a ValidationError naming the file", ({ input, message }) => {
    const attempt = () => setImage(input, { tag: "1.5.0", digest: newDigest }, file);

    expect(attempt).toThrow(message);
    expect(attempt).toThrow(
      expect.objectContaining({ name: "ValidationError", message: expect.stringContaining(file) }),
    );
  });

  it.each([
    { name: "a digest without its algorithm", image: { tag: "1.5.0", digest: "b".repeat(64) } },
    { name: "a short digest", image: { tag: "1.5.0", digest: "sha256:abc" } },
    { name: "an upper-case digest", image: { tag: "1.5.0", digest: `sha256:${"B".repeat(64)}` } },
    { name: "a tag with a space", image: { tag: "1.5.0 # x", digest: newDigest } },
    { name: "a tag starting with a dot", image: { tag: ".hidden", digest: newDigest } },
    { name: "a tag with a line break", image: { tag: "1\nimage: x", digest: newDigest } },
  ])("refuses $name", ({ image }) => {
    expect(() => setImage(lines("image:", "  tag: 1.4.1"), image, file)).toThrow(
      expect.objectContaining({ name: "ValidationError" }),
    );
  });
});

describe("readImage", () => {
  it("reads repository, tag and digest as written", () => {
    const input = lines(
      "image:",
      "  repository: 123456789012.dkr.ecr.eu-west-1.amazonaws.com/checkout",
      "  tag: 1.10",
      `  digest: "${oldDigest}"`,
    );

    expect(readImage(input, file)).toEqual({
      repository: "123456789012.dkr.ecr.eu-west-1.amazonaws.com/checkout",
      tag: "1.10",
      digest: oldDigest,
    });
  });

  it.each([
    ["an empty file", ""],
    ["a file without image", lines("replicaCount: 1")],
    ["an empty image", lines("image:")],
    ["empty fields", lines("image:", "  tag:", "  digest: ~")],
  ])("reads nothing from %s", (_, input) => {
    expect(readImage(input, file)).toEqual({});
  });
});

describe("seedFiles", () => {
  const config = configSchema.parse({
    gitops: { repository: "acme-platform/gitops" },
    environments: [
      {
        name: "staging",
        approval: "none",
        argocd: { namespace: "argocd", application: "{service}-staging" },
      },
      {
        name: "production",
        approval: { approvers: ["sam@example.com"], timeoutHours: 24 },
        argocd: { namespace: "argocd", application: "{service}-production" },
      },
    ],
    services: [
      {
        name: "checkout",
        repository: "checkout",
        policy: { semver: "^1.2.0" },
        values: "envs/{environment}/checkout/values.yaml",
      },
      {
        name: "payments-worker",
        repository: "payments/worker",
        policy: { pattern: "^main-[0-9a-f]{7}$" },
        values: "envs/{environment}/payments-worker/values.yaml",
      },
      {
        name: "storefront",
        repository: "storefront",
        policy: { tag: "stable" },
        values: "apps/{service}/{environment}.yaml",
      },
    ],
  });

  it("writes a values file per service and environment, and a README", () => {
    expect(Object.keys(seedFiles(config)).sort()).toEqual([
      "README.md",
      "apps/storefront/production.yaml",
      "apps/storefront/staging.yaml",
      "envs/production/checkout/values.yaml",
      "envs/production/payments-worker/values.yaml",
      "envs/staging/checkout/values.yaml",
      "envs/staging/payments-worker/values.yaml",
    ]);
  });

  it.each([
    ["envs/staging/checkout/values.yaml", "checkout", "1.2.0"],
    ["envs/staging/payments-worker/values.yaml", "payments/worker", "main-0000000"],
    ["apps/storefront/production.yaml", "storefront", "stable"],
  ])("starts %s at an image its policy accepts", (path, repository, tag) => {
    const content = seedFiles(config)[path] ?? "";

    expect(readImage(content, path)).toEqual({
      repository: `000000000000.dkr.ecr.us-east-1.amazonaws.com/${repository}`,
      tag,
      digest: expect.stringMatching(/^sha256:[0-9a-f]{64}$/),
    });
  });

  it("uses the configured account and region, and the same digests on every start", () => {
    const aws = { ...config, aws: { account: "123456789012", region: "eu-west-1" } };

    const content = seedFiles(aws)["envs/staging/checkout/values.yaml"] ?? "";

    expect(readImage(content, "values.yaml").repository).toBe(
      "123456789012.dkr.ecr.eu-west-1.amazonaws.com/checkout",
    );
    expect(seedFiles(aws)).toEqual(seedFiles(aws));
  });

  it("makes files a promotion changes in exactly two lines", () => {
    const before = seedFiles(config)["envs/staging/checkout/values.yaml"] ?? "";

    const after = setImage(before, { tag: "1.3.0", digest: newDigest }, "values.yaml").content;

    const changed = after.split("\n").filter((line, index) => line !== before.split("\n")[index]);
    expect(changed).toEqual(['  tag: "1.3.0"', `  digest: ${newDigest}`]);
  });
});
