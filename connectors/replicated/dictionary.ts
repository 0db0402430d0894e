import type { DictionaryColumn, LogicalType } from '../../src/core/contracts.js';

/**
 * Columns of the two Replicated streams. `customer_instances` follows the data dictionary of the
 * "Customers + Instances" export (replicated-docs `instance-data-export.md`, source-apis.md §1.2 [C])
 * with its documented types (timestamptz → timestamp); `instance_events` follows the proposed JSON
 * shape of `/events` (§1.1 [G]: no stored source documents it), in snake_case.
 *
 * If a type here is wrong, every value of that column goes to `_extra` (misfit) or lands typed
 * wrongly for every user; if a name is wrong, the real column arrives as a dynamic column and this
 * one stays empty forever. The README's column tables are generated from these lists.
 */

const col = (name: string, type: LogicalType, description: string): DictionaryColumn => ({
  name,
  type,
  description,
});

/** Fields of one instance event, as the connector hands them to the mapper. */
export const INSTANCE_EVENT_COLUMNS: DictionaryColumn[] = [
  col('instance_id', 'string', 'Instance identifier (`instanceId` in JSON).'),
  col('customer_id', 'string', 'Customer identifier (`customerId`).'),
  col('app_id', 'string', 'Application identifier (`appId`).'),
  col(
    'field_name',
    'string',
    'The field whose value changed: a built-in field or a custom metric key (`fieldName`).',
  ),
  col('field_value', 'string', 'The new value, as text exactly as the API sent it (`fieldValue`).'),
  col(
    'field_value_numeric',
    'decimal',
    'field_value as an exact decimal when it is a number (at most 38 digits); NULL otherwise. Computed by exportsync.',
  ),
  col('is_custom', 'boolean', 'The field is a custom metric (`isCustom`).'),
  col(
    'created_at',
    'timestamp',
    'When the Vendor API received the change (not when it happened). The cursor.',
  ),
];

/** Merge key and cursor of `instance_events` [G: synthetic key, source-apis.md §1.1]. */
export const INSTANCE_EVENT_KEY = ['instance_id', 'field_name', 'created_at'];

/** camelCase JSON key → column (CSV headers are already snake_case). */
export const EVENT_JSON_KEYS: Record<string, string> = {
  appId: 'app_id',
  customerId: 'customer_id',
  instanceId: 'instance_id',
  fieldName: 'field_name',
  fieldValue: 'field_value',
  isCustom: 'is_custom',
  createdAt: 'created_at',
};

/** Prefixes of the dynamic column families (typed by inference, see the mapper). */
export const DYNAMIC_FAMILIES = ['customer_entitlement__', 'custom_metric__', 'instance_tag__'] as const;

/** The cursor column of the snapshot stream: the snapshot's UTC date, filled by the connector. */
export const SNAPSHOT_DATE = 'snapshot_date';

/** Placeholder for the empty `instance_id` of a customer without instances (a key part may not be empty). */
export const NO_INSTANCE = '_none';

/** The data dictionary of the Customers + Instances export, in the documented order. */
export const CUSTOMER_INSTANCE_COLUMNS: DictionaryColumn[] = [
  col('customer_id', 'string', 'Customer identifier'),
  col('customer_name', 'string', 'The customer name'),
  col('customer_created_date', 'timestamp', 'The date the license was created'),
  col('customer_license_expiration_date', 'timestamp', 'The expiration date of the license'),
  col('customer_channel_id', 'string', 'The channel id the customer is assigned'),
  col('customer_channel_name', 'string', 'The channel name the customer is assigned'),
  col('customer_app_id', 'string', 'App identifier'),
  col('customer_last_active', 'timestamp', 'The date the customer was last active'),
  col('customer_type', 'string', 'One of prod, trial, dev, or community'),
  col('customer_status', 'string', 'The current status of the customer'),
  col('customer_is_airgap_enabled', 'boolean', 'The feature the customer has enabled - Airgap'),
  col('customer_is_geoaxis_supported', 'boolean', 'The feature the customer has enabled - GeoAxis'),
  col('customer_is_gitops_supported', 'boolean', 'The feature the customer has enabled - KOTS Auto-GitOps'),
  col(
    'customer_is_embedded_cluster_download_enabled',
    'boolean',
    'The feature the customer has enabled - Embedded Cluster',
  ),
  col('customer_is_identity_service_supported', 'boolean', 'The feature the customer has enabled - Identity'),
  col('customer_is_snapshot_supported', 'boolean', 'The feature the customer has enabled - Snapshot'),
  col(
    'customer_has_entitlements',
    'boolean',
    'Indicates the presence or absence of entitlements and entitlement_* columns',
  ),
  col(
    'customer_created_by_id',
    'string',
    'The ID of the actor that created this customer: user ID or a hashed value of a token.',
  ),
  col(
    'customer_created_by_type',
    'string',
    'The type of the actor that created this customer: user or service-account.',
  ),
  col(
    'customer_created_by_description',
    'string',
    'The description of the actor that created this customer.',
  ),
  col('customer_created_by_link', 'string', 'The link to the actor that created this customer.'),
  col('customer_created_by_timestamp', 'timestamp', 'The date the customer was created by this actor.'),
  col(
    'customer_updated_by_id',
    'string',
    'The ID of the actor that updated this customer: user ID or a hashed value of a token.',
  ),
  col(
    'customer_updated_by_type',
    'string',
    'The type of the actor that updated this customer: user or service-account.',
  ),
  col(
    'customer_updated_by_description',
    'string',
    'The description of the actor that updated this customer.',
  ),
  col('customer_updated_by_link', 'string', 'The link to the actor that updated this customer.'),
  col('customer_updated_by_timestamp', 'timestamp', 'The date the customer was updated by this actor.'),
  col(
    'instance_id',
    'string',
    `Instance identifier ('${NO_INSTANCE}' for a customer without instances: the export leaves it empty)`,
  ),
  col('instance_is_active', 'boolean', 'The instance has pinged within the last 24 hours'),
  col(
    'instance_first_reported_at',
    'timestamp',
    'The timestamp of the first recorded check-in for the instance.',
  ),
  col(
    'instance_last_reported_at',
    'timestamp',
    'The timestamp of the last recorded check-in for the instance.',
  ),
  col('instance_first_ready_at', 'timestamp', 'The timestamp of when the cluster was considered ready'),
  col(
    'instance_kots_version',
    'string',
    'The version of KOTS or the Replicated SDK that the instance is running.',
  ),
  col('instance_k8s_version', 'string', 'The version of Kubernetes running in the cluster.'),
  col('instance_is_airgap', 'boolean', 'The cluster is airgapped'),
  col(
    'instance_is_kurl',
    'boolean',
    'The instance is installed in a Replicated kURL cluster (embedded cluster)',
  ),
  col('instance_last_app_status', 'string', "The instance's last reported app status"),
  col(
    'instance_client',
    'string',
    'Whether this instance is managed by KOTS or is a Helm CLI deployed instance using the SDK.',
  ),
  col(
    'instance_kurl_node_count_total',
    'integer',
    'Total number of nodes in the cluster. Applies only to kURL clusters.',
  ),
  col(
    'instance_kurl_node_count_ready',
    'integer',
    'Number of nodes in the cluster that are ready to run Pods. Applies only to kURL clusters.',
  ),
  col(
    'instance_cloud_provider',
    'string',
    'The cloud provider where the instance is running (from the request IP address).',
  ),
  col(
    'instance_cloud_provider_region',
    'string',
    'The cloud provider region where the instance is running. For example, us-central1-b',
  ),
  col('instance_app_version', 'string', 'The current application version'),
  col(
    'instance_version_age',
    'string',
    'The age (in days) of the currently deployed release, relative to the latest release on the channel.',
  ),
  col(
    'instance_is_gitops_enabled',
    'boolean',
    'Whether the end user has enabled KOTS Auto-GitOps for deployments',
  ),
  col('instance_gitops_provider', 'string', 'If KOTS Auto-GitOps is enabled, the GitOps provider in use.'),
  col(
    'instance_is_skip_preflights',
    'boolean',
    'Whether an end user elected to skip preflight check warnings or errors',
  ),
  col('instance_preflight_status', 'string', 'The last reported preflight check status for the instance'),
  col('instance_k8s_distribution', 'string', 'The Kubernetes distribution of the cluster.'),
  col(
    'instance_has_custom_metrics',
    'boolean',
    'Indicates the presence or absence of custom metrics and custom_metric__* columns',
  ),
  col('instance_custom_metrics_reported_at', 'timestamp', 'Timestamp of latest custom_metric'),
  col(
    'instance_has_tags',
    'boolean',
    'Indicates the presence or absence of instance tags and instance_tag__* columns',
  ),
  col(
    SNAPSHOT_DATE,
    'date',
    'UTC date of the snapshot this row was read in. Filled by exportsync; the cursor.',
  ),
];

/** Merge key of `customer_instances` (one row per customer and instance). */
export const CUSTOMER_INSTANCE_KEY = ['customer_id', 'instance_id'];
