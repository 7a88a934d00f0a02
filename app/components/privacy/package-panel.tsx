import { columnHelper, DataTable } from '#app/components/data-table.tsx';
import { Time } from '#app/components/time.tsx';

// What a privacy officer sees of an access or portability package (ADR 025): its state, size,
// hashes and manifest, and the work's progress; never its contents, and no way to download it
// (it reaches the user through their link and the product).

export interface PackagePanelData {
  state: 'building' | 'ready' | 'expired';
  bytes: number;
  sha256: string | null;
  createdAt: string;
  readyAt: string | null;
  expiresAt: string | null;
  expiredAt: string | null;
  downloads: number;
  files: { name: string; bytes: number; rows: number; sha256: string }[];
}

export interface WorkProgress {
  step: string | null;
  done: number;
  total: number;
}

type File = PackagePanelData['files'][number];
const col = columnHelper<File>();
const columns = col.columns([
  col.accessor('name', { header: 'File' }),
  col.accessor('bytes', { header: 'Bytes', cell: (info) => info.getValue().toLocaleString('en') }),
  col.accessor('rows', { header: 'Records', cell: (info) => info.getValue().toLocaleString('en') }),
  col.accessor('sha256', {
    header: 'SHA-256',
    cell: (info) => <code className="hash">{info.getValue()}</code>,
  }),
]);

const STATE: Record<PackagePanelData['state'], string> = {
  building: 'being built',
  ready: 'sent to the user',
  expired: 'expired and deleted',
};

export function PackagePanel({
  pkg,
  progress,
  processing,
}: {
  pkg: PackagePanelData | null;
  progress: WorkProgress;
  processing: boolean;
}) {
  return (
    <section className="panel" aria-labelledby="package-heading">
      <h2 id="package-heading">Package</h2>
      {processing ? (
        <p>
          Working on <code>{progress.step ?? 'starting'}</code>:{' '}
          {progress.done.toLocaleString('en')} of {progress.total.toLocaleString('en')} records
        </p>
      ) : null}
      {pkg ? (
        <>
          <dl className="facts">
            <dt>State</dt>
            <dd>{STATE[pkg.state]}</dd>
            <dt>Size</dt>
            <dd>{pkg.bytes.toLocaleString('en')} bytes</dd>
            <dt>SHA-256</dt>
            <dd>{pkg.sha256 ? <code className="hash">{pkg.sha256}</code> : '—'}</dd>
            <dt>Made (UTC)</dt>
            <dd>
              <Time iso={pkg.readyAt ?? pkg.createdAt} zone={false} />
            </dd>
            <dt>{pkg.state === 'expired' ? 'Expired (UTC)' : 'Expires (UTC)'}</dt>
            <dd>
              <Time iso={pkg.expiredAt ?? pkg.expiresAt} zone={false} />
            </dd>
            <dt>Downloads</dt>
            <dd>{pkg.downloads}</dd>
          </dl>
          <p className="muted">
            The package reaches the user through the link in their completion message and through
            the product. The console shows its manifest, never its contents, and offers no download.
          </p>
          {pkg.files.length ? (
            <DataTable
              caption="Manifest"
              columns={columns}
              data={pkg.files}
              getRowId={(f) => f.name}
              empty="No files."
              paged={false}
            />
          ) : null}
        </>
      ) : processing ? null : (
        <p className="muted">No package has been made.</p>
      )}
    </section>
  );
}
