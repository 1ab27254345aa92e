// Inbound mail as a receiving MTA hands it over: RFC 3464 delivery status notifications.

/** A DSN for `recipient` (multipart/report; report-type=delivery-status) with the original's headers. */
export function dsn(opts: { recipient: string; action: string; status: string; to?: string; original?: string }): string {
  return [
    'From: Mail Delivery System <MAILER-DAEMON@mx.dupont.example>',
    `To: ${opts.to ?? 'bounce+x@inbound.test'}`,
    'Subject: Undelivered Mail Returned to Sender',
    'Auto-Submitted: auto-replied',
    'MIME-Version: 1.0',
    'Content-Type: multipart/report; report-type=delivery-status; boundary="BND"',
    '',
    '--BND',
    'Content-Type: text/plain; charset=utf-8',
    '',
    'Your message could not be delivered.',
    '--BND',
    'Content-Type: message/delivery-status',
    '',
    'Reporting-MTA: dns; mx.dupont.example',
    '',
    `Final-Recipient: rfc822; ${opts.recipient}`,
    `Action: ${opts.action}`,
    `Status: ${opts.status}`,
    `Diagnostic-Code: smtp; ${opts.status.startsWith('5') ? '550' : '451'} ${opts.status} mailbox unavailable`,
    '--BND',
    'Content-Type: text/rfc822-headers',
    '',
    opts.original ?? 'Message-ID: <abc@relance>',
    '--BND--',
    '',
  ].join('\r\n');
}
