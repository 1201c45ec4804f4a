/** @jsxRuntime automatic @jsxImportSource hono/jsx */
import type { Child } from 'hono/jsx';

/**
 * The card above a list that narrows it: a GET form (so a filtered list has a URL to share or reload) with a submit
 * button and a link back to the unfiltered list.
 */
export function FilterForm(props: {
  action: string;
  children: Child;
  /** Id of the card's heading, which labels the card. */
  titleId?: string;
  title?: string;
  submit?: string;
}) {
  const titleId = props.titleId ?? 'filter-title';
  return (
    <section class="card" aria-labelledby={titleId}>
      <h2 id={titleId}>{props.title ?? 'Filter'}</h2>
      <form method="get" action={props.action} class="row">
        {props.children}
        <div class="actions">
          <button type="submit">{props.submit ?? 'Filter'}</button>
          <a href={props.action}>Clear</a>
        </div>
      </form>
    </section>
  );
}

/** A free-text filter; `name` is also the input's id. */
export function TextFilter(props: {
  name: string;
  label: string;
  value: string;
  type?: 'text' | 'search';
  placeholder?: string;
}) {
  return (
    <div>
      <label for={props.name}>{props.label}</label>
      <input
        id={props.name}
        name={props.name}
        type={props.type ?? 'text'}
        value={props.value}
        placeholder={props.placeholder}
      />
    </div>
  );
}

/** A choice filter; `any` is the label of the empty "no filter" option, when the options do not include one. */
export function SelectFilter(props: {
  name: string;
  label: string;
  options: ReadonlyArray<readonly [value: string, label: string]>;
  selected: string;
  any?: string;
}) {
  return (
    <div>
      <label for={props.name}>{props.label}</label>
      <select id={props.name} name={props.name}>
        {props.any === undefined ? null : <option value="">{props.any}</option>}
        {props.options.map(([value, label]) => (
          <option value={value} selected={props.selected === value}>
            {label}
          </option>
        ))}
      </select>
    </div>
  );
}
