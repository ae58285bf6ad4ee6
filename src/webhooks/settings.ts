/** How the worker delivers webhooks: from the configuration, for the delivery activity and the SSRF check. */
export interface WebhookSettings {
  /** Hostnames, IPs or CIDRs exempt from the private-address rule (an internal receiver, 127.0.0.1 in tests). */
  allow: string[];
  /** Per attempt, connect to last byte of the response headers. */
  timeoutMs: number;
  /** The tenant's signing secret, `whsec_<base64>`; undefined when the tenant has none. */
  secretFor(tenant: string): string | undefined;
}
