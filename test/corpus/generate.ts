/**
 * Corpus inputs too large to keep as files, generated the same way every time: a CSV row with a
 * 1 MB field, and a customer-instances export with 10,000 distinct dynamic keys.
 */
const SCARF_HEADER =
  'id,type,package,pixel,version,time,referer,user_agent,platform,variables,origin_id,origin_latitude,' +
  'origin_longitude,origin_country,origin_city,origin_postal,origin_connection_type,origin_company,' +
  'origin_domain,dnt,confidence,endpoint_id,origin_state,mtc_quota_exceeded';

export function scarfRow(id: string, referer = ''): string {
  return (
    `${id},manifest-fetch,acme/cli,,1.4.2,2026-11-24T04:28:06.420Z,${referer},curl/8.4.0,linux,,` +
    '0e3892648d798308,45.4599,4.3402,FR,Lyon,69000,business,,acme.example,false,0.56,0293a4f51c372e16,ARA,false'
  );
}

/** The 1 MB value: printable, with commas and quotes so the CSV quoting is exercised too. */
export const MEGABYTE_VALUE = 'a,"b" '.repeat(Math.ceil(1_048_576 / 6)).slice(0, 1_048_576);

export function oneMegabyteField(): Buffer {
  const quoted = `"${MEGABYTE_VALUE.replace(/"/g, '""')}"`;
  return Buffer.from(
    `${SCARF_HEADER}\n${scarfRow('big-1')}\n${scarfRow('big-2', quoted)}\n${scarfRow('big-3')}\n`,
  );
}

export const DYNAMIC_KEYS = 10_000;
export const dynamicKey = (i: number): string => `custom_metric__k${String(i).padStart(5, '0')}`;

export function tenThousandDynamicKeys(): Buffer {
  const wide: Record<string, unknown> = { customer_id: 'cust1', customer_name: 'Wide', instance_id: 'inst1' };
  for (let i = 0; i < DYNAMIC_KEYS; i++) wide[dynamicKey(i)] = i;
  const narrow = {
    customer_id: 'cust2',
    customer_name: 'Narrow',
    instance_id: 'inst2',
    [dynamicKey(9_999)]: 1,
  };
  return Buffer.from(JSON.stringify([wide, narrow]));
}
