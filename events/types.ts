// The EventBridge event envelope and the shapes shared by the catalog, the rules and the bus.

/** An event as EventBridge delivers it to a target (the envelope of every rule match). */
export interface EventBridgeEvent<TDetail = unknown, TDetailType extends string = string> {
  version: string;
  id: string;
  "detail-type": TDetailType;
  source: string;
  account: string;
  time: string;
  region: string;
  resources: string[];
  detail: TDetail;
}

/** The two buses Switchyard uses: AWS services publish on `default`, Switchyard on its own bus. */
export type BusName = "default" | "switchyard";
