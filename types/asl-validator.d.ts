// Types for asl-validator 4, which ships none: the default export validates one state machine definition.
declare module "asl-validator" {
  interface AslValidationResult {
    isValid: boolean;
    errors: unknown[];
    errorsText(separator?: string): string;
  }
  interface AslValidatorOptions {
    checkPaths?: boolean;
    checkArn?: boolean;
  }
  export default function aslValidator(
    definition: object,
    options?: AslValidatorOptions,
  ): AslValidationResult;
}
