import { escapeHtml } from '../lib/html-escape';

/** A small self-contained page; every interpolated value goes through `escapeHtml` at the call site. */
export function page(title: string, body: string): string {
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1">
<title>${escapeHtml(title)}</title>
<style>
body{font-family:system-ui,-apple-system,Segoe UI,Helvetica,Arial,sans-serif;background:#f4f5f7;color:#1f2933;margin:0;padding:40px 16px}
main{max-width:560px;margin:0 auto;background:#fff;border-radius:8px;padding:32px;box-shadow:0 1px 3px rgba(0,0,0,.08)}
h1{font-size:22px;margin-top:0}blockquote{border-left:3px solid #cbd2d9;margin:16px 0;padding:4px 16px;color:#3e4c59;white-space:pre-wrap}
button{font-size:16px;padding:10px 20px;border-radius:6px;border:0;cursor:pointer;margin-right:8px}
.accept{background:#2b6cb0;color:#fff}.decline{background:#e4e7eb;color:#1f2933}.muted{color:#7b8794;font-size:14px}
table{border-collapse:collapse;width:100%;font-size:14px}td,th{border-bottom:1px solid #e4e7eb;padding:6px;text-align:left;vertical-align:top}
</style></head><body><main>${body}</main></body></html>`;
}

export { escapeHtml };
