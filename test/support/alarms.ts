/** The alarm rows the block, restart, editor and CSV tests share: a high and a high-high alarm on one level. */
export const HIGH = {
  id: "LT-201-H",
  label: "Basin 2 bacteria level high",
  topic: "LT-201",
  condition: "high",
  setpoint: 6,
  deadband: 0.5,
  onDelay: 0,
  offDelay: 0,
  priority: 2,
  ack: "manual",
};
export const HIGH_HIGH = {
  ...HIGH,
  id: "LT-201-HH",
  label: "Basin 2 bacteria level high-high",
  setpoint: 8,
  priority: 1,
};
