import { Link, useSearchParams } from '@remix-run/react';
import {
  constructTable,
  createColumnHelper,
  flexRender,
  tableFeatures,
  type ColumnDef,
  type RowData,
} from '@tanstack/react-table';
import { useMemo, type ReactNode } from 'react';

// The one table of the console. Sorting, filtering and paging happen on the server; this component
// only renders the page it is given and writes the user's choices into the URL (`sort`, `dir`,
// `after`), so every view can be linked, reloaded and bookmarked.

export const tableCore = tableFeatures({});
export type TableFeatures = typeof tableCore;
export function columnHelper<Row extends RowData>() {
  return createColumnHelper<TableFeatures, Row>();
}

// NOTE: a table whose state never changes (the URL holds it) needs no reactive graph: these atoms
// only hold or compute a value. useTable (or table-core's store bindings) would bring TanStack
// Store, and useTable its useSyncExternalStore shim, to every page with a table: about 3 KB gzip
// (ADR 016).
type Reactivity = Parameters<typeof constructTable>[0]['features']['coreReactivityFeature'];
const noSubscription = { unsubscribe() {} };
const subscribe = () => noSubscription;
const staticReactivity = {
  createOptionsStore: false,
  wrapExternalAtoms: false,
  addSubscription: () => {},
  batch: (fn: () => void) => fn(),
  schedule: (fn: () => void) => queueMicrotask(fn),
  untrack: <T,>(fn: () => T) => fn(),
  createReadonlyAtom: <T,>(fn: () => T) => ({ get: fn, subscribe }),
  createWritableAtom: <T,>(initial: T) => {
    let value = initial;
    return {
      get: () => value,
      set: (next: T | ((prev: T) => T)) => {
        value = typeof next === 'function' ? (next as (prev: T) => T)(value) : next;
      },
      subscribe,
    };
  },
} as unknown as Reactivity;

export interface DataTableProps<Row extends RowData> {
  caption: string;
  columns: ColumnDef<TableFeatures, Row, any>[]; // eslint-disable-line @typescript-eslint/no-explicit-any
  data: Row[];
  /** Column id → the server's sort key, for sortable columns. */
  sortable?: Record<string, string>;
  sort?: string;
  dir?: 'asc' | 'desc';
  /** The cursor of the next page, if there is one. */
  next?: string | null;
  /** The cursor of the previous page, for lists that page both ways. */
  prev?: string | null;
  empty: ReactNode;
  getRowId: (row: Row) => string;
  /** `false` for a table that is whole on one page: no pager under it. */
  paged?: boolean;
  /** The first cell of each row heads it (`<th scope="row">`), as in a table of figures. */
  rowHeader?: boolean;
  /** For a table a heading already names: the caption is for screen readers only. */
  captionHidden?: boolean;
  testId?: string;
}

export function DataTable<Row extends RowData>(props: DataTableProps<Row>) {
  const { columns, data, getRowId } = props;
  const table = useMemo(
    () =>
      constructTable({
        features: { coreReactivityFeature: staticReactivity, ...tableCore },
        columns,
        data,
        getRowId,
      }),
    [columns, data, getRowId],
  );
  const withParams = useWithParams();
  return (
    <div>
      <table className="data" data-testid={props.testId}>
        <caption className={props.captionHidden ? 'visually-hidden' : 'muted'}>
          {props.caption}
        </caption>
        <thead>
          {table.getHeaderGroups().map((group) => (
            <tr key={group.id}>
              {group.headers.map((header) => {
                const sortKey = props.sortable?.[header.column.id];
                const active = sortKey && props.sort === sortKey;
                const ariaSort = active
                  ? props.dir === 'desc'
                    ? 'descending'
                    : 'ascending'
                  : undefined;
                return (
                  <th key={header.id} scope="col" aria-sort={ariaSort}>
                    {sortKey ? (
                      <Link
                        to={withParams({
                          sort: sortKey,
                          dir: active && props.dir === 'asc' ? 'desc' : 'asc',
                          after: null,
                        })}
                      >
                        {flexRender(header.column.columnDef.header, header.getContext())}
                        <span aria-hidden="true">
                          {active ? (props.dir === 'desc' ? ' ▼' : ' ▲') : ' ↕'}
                        </span>
                      </Link>
                    ) : (
                      flexRender(header.column.columnDef.header, header.getContext())
                    )}
                  </th>
                );
              })}
            </tr>
          ))}
        </thead>
        <tbody>
          {table.getRowModel().rows.length === 0 ? (
            <tr>
              <td colSpan={props.columns.length} className="empty">
                {props.empty}
              </td>
            </tr>
          ) : (
            table.getRowModel().rows.map((row) => (
              <tr key={row.id}>
                {row.getAllCells().map((cell, i) =>
                  props.rowHeader && i === 0 ? (
                    <th key={cell.id} scope="row">
                      {flexRender(cell.column.columnDef.cell, cell.getContext())}
                    </th>
                  ) : (
                    <td key={cell.id}>
                      {flexRender(cell.column.columnDef.cell, cell.getContext())}
                    </td>
                  ),
                )}
              </tr>
            ))
          )}
        </tbody>
      </table>
      {props.paged === false ? null : (
        <Pager next={props.next} prev={props.prev} shown={props.data.length > 0} />
      )}
    </div>
  );
}

/** The URL of this page with some search params changed (`null` removes one). */
function useWithParams() {
  const [params] = useSearchParams();
  return (changes: Record<string, string | null>) => {
    const next = new URLSearchParams(params);
    for (const [key, value] of Object.entries(changes)) {
      if (value === null) next.delete(key);
      else next.set(key, value);
    }
    return `?${next.toString()}`;
  };
}

/**
 * The keyset pager of DataTable, also used alone by lists that are not tables: "First page" once
 * paged (`after` in the URL), the previous page's link for lists that page both ways, then the
 * next page's link or, on the last page, `last`.
 */
export function Pager(props: {
  /** The cursor of the next page, if there is one. */
  next?: string | null;
  /** The cursor of the previous page, if there is one (lists that page both ways). */
  prev?: string | null;
  /** Whether this page shows anything (the last-page note is left out when it does not). */
  shown: boolean;
  nextLabel?: string;
  last?: string;
}) {
  const [params] = useSearchParams();
  const withParams = useWithParams();
  return (
    <nav className="pager" aria-label="Pages">
      {params.has('after') ? <Link to={withParams({ after: null })}>First page</Link> : null}
      {props.prev ? (
        <Link to={withParams({ after: props.prev })} rel="prev">
          Previous page
        </Link>
      ) : null}
      {props.next ? (
        <Link to={withParams({ after: props.next })} rel="next">
          {props.nextLabel ?? 'Next page'}
        </Link>
      ) : (
        <span className="muted">{props.shown ? (props.last ?? 'Last page') : ''}</span>
      )}
    </nav>
  );
}
