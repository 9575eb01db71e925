// A labelled input whose error is tied to it for screen readers.
export interface FieldProps {
  label: string;
  name: string;
  type?: 'text' | 'number' | 'password' | 'email' | 'checkbox';
  value?: string | number | null;
  error?: string;
  required?: boolean;
  step?: string;
  autocomplete?: string;
  hint?: string;
}

export function Field({ label, name, type = 'text', value, error, required, step, autocomplete, hint }: FieldProps) {
  const id = `field-${name}`;
  const described = [error ? `${id}-error` : '', hint ? `${id}-hint` : ''].filter(Boolean).join(' ') || undefined;
  return (
    <div class={`field${error ? ' invalid' : ''}`}>
      <label for={id}>{label}</label>
      <input id={id} name={name} type={type as "text"} defaultValue={value === null || value === undefined ? '' : String(value)} required={required} step={step} autocomplete={autocomplete} aria-invalid={error ? 'true' : undefined} aria-describedby={described} />
      {hint && (
        <small id={`${id}-hint`} class="hint">
          {hint}
        </small>
      )}
      {error && (
        <small id={`${id}-error`} class="error" data-field-error={name}>
          {error}
        </small>
      )}
    </div>
  );
}
