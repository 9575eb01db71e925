// OperationInfo messages as errors per form field.
export interface Problem {
  message: string;
  field: string | null;
  kind: string;
}

export interface FieldErrors {
  /** Messages keyed by the input field (camelCase, as the form names it). */
  fields: Record<string, string>;
  /** Messages that name no field of the form. */
  general: string[];
}

/** snake_case (as the API names model fields) to camelCase (as the schema and forms do). */
export function camel(name: string): string {
  return name.replace(/_([a-z0-9])/g, (_, c: string) => c.toUpperCase());
}

export function fieldErrors(problems: Problem[], formFields: readonly string[]): FieldErrors {
  const known = new Set(formFields);
  const result: FieldErrors = { fields: {}, general: [] };
  for (const problem of problems) {
    const field = problem.field ? camel(problem.field) : null;
    if (field && known.has(field)) {
      result.fields[field] = result.fields[field] ? `${result.fields[field]} ${problem.message}` : problem.message;
    } else {
      result.general.push(field ? `${field}: ${problem.message}` : problem.message);
    }
  }
  return result;
}
