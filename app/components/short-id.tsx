import { Link } from '@remix-run/react';

/**
 * The first eight characters of an id, the whole id in its title; a dash for none. With `filter`,
 * a link to the same page showing only the rows about it (`?<param>=<id>`).
 */
export function ShortId({
  id,
  filter,
}: {
  id: string | null | undefined;
  filter?: { param: string; what: string };
}) {
  if (!id) return <span className="muted">—</span>;
  if (!filter)
    return (
      <code className="short-id" title={id}>
        {id.slice(0, 8)}
      </code>
    );
  return (
    <Link
      to={`?${filter.param}=${id}`}
      title={`Show only entries about ${filter.what} ${id}`}
      aria-label={`${filter.what} ${id}: show only its entries`}
    >
      <code className="short-id">{id.slice(0, 8)}</code>
    </Link>
  );
}
