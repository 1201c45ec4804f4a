/** One line of `pipes doctor`: what was checked, how it went, and what to do when it did not. */
export type CheckStatus = 'pass' | 'warn' | 'fail' | 'skip';

export interface CheckResult {
  /** Stable id for CI (`public_url`, `provider:sandbox:sandbox`, …). */
  id: string;
  title: string;
  status: CheckStatus;
  message: string;
  /** What to do about a failure or a warning. Never a secret. */
  fix?: string;
}

export const check = (
  id: string,
  title: string,
  status: CheckStatus,
  message: string,
  fix?: string,
): CheckResult => (fix === undefined ? { id, title, status, message } : { id, title, status, message, fix });

export interface DoctorReport {
  ok: boolean;
  summary: Record<CheckStatus, number>;
  checks: CheckResult[];
}

export function summarise(checks: CheckResult[]): DoctorReport {
  const summary: Record<CheckStatus, number> = { pass: 0, warn: 0, fail: 0, skip: 0 };
  for (const c of checks) summary[c.status]++;
  return { ok: summary.fail === 0, summary, checks };
}

const LABEL: Record<CheckStatus, string> = { pass: 'PASS', warn: 'WARN', fail: 'FAIL', skip: 'SKIP' };

/** Plain text that reads well in a terminal and in a CI log (no colour codes, no box drawing). */
export function formatReport(report: DoctorReport, heading: string): string {
  const width = Math.min(34, Math.max(...report.checks.map((c) => c.title.length), 10));
  const lines = [heading, ''];
  for (const c of report.checks) {
    lines.push(`${LABEL[c.status]}  ${c.title.padEnd(width)}  ${c.message}`);
    if (c.fix !== undefined) lines.push(`${' '.repeat(6 + width + 2)}Fix: ${c.fix}`);
  }
  const { pass, warn, fail, skip } = report.summary;
  lines.push(
    '',
    `${pass} passed, ${warn} warning${warn === 1 ? '' : 's'}, ${fail} failed${skip > 0 ? `, ${skip} skipped` : ''}.` +
      (report.ok ? '' : ' Fix the FAIL lines above, then run `pipes doctor` again.'),
  );
  return lines.join('\n');
}
