import { useState } from 'react';

// One click copies a whole id (or any short code) to the clipboard: the tables show ids cut to
// eight characters, and an investigator pastes the whole one into the next filter or ticket.

async function copyText(text: string) {
  if (navigator.clipboard && window.isSecureContext) {
    await navigator.clipboard.writeText(text);
    return;
  }
  // NOTE: over plain HTTP on an address other than localhost the Clipboard API is missing.
  const area = document.createElement('textarea');
  area.value = text;
  area.setAttribute('readonly', '');
  area.style.position = 'fixed';
  area.style.opacity = '0';
  document.body.appendChild(area);
  area.select();
  document.execCommand('copy');
  area.remove();
}

export function CopyButton({ value, what }: { value: string; what: string }) {
  const [copied, setCopied] = useState(false);
  return (
    <button
      type="button"
      className="copy-button"
      data-copy={value}
      title={copied ? 'Copied' : `Copy the whole ${what} id`}
      aria-label={`Copy ${what} id ${value}`}
      onClick={() => {
        void copyText(value).then(() => {
          setCopied(true);
          setTimeout(() => setCopied(false), 1500);
        });
      }}
    >
      {copied ? (
        <svg viewBox="0 0 16 16" aria-hidden="true">
          <path d="M3 8.5l3 3 7-7" fill="none" stroke="currentColor" strokeWidth="2" />
        </svg>
      ) : (
        <svg viewBox="0 0 16 16" aria-hidden="true">
          <rect x="5" y="5" width="9" height="9" rx="1" fill="none" stroke="currentColor" />
          <path d="M11 3V2H2v9h1" fill="none" stroke="currentColor" />
        </svg>
      )}
    </button>
  );
}
