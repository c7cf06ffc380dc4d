/**
 * The demo flow that `npm start` (dev/start.ts) writes, apart so that a test can deploy it as it is.
 */

export const SERVER_ID = "demo-mail-server";

/**
 * Where the demo flow's mail goes. These settings are written into flows.json as they are, so that the editor shows
 * a readable, valid server node; the login never is: see startFlows.
 */
export interface MailTarget {
  capture: boolean;
  host: string;
  port: number;
  security: string;
  auth: string;
  from: string;
  to: string;
}

/** The demo: two buttons, an alarm block, a send node and the server and group it mails through. */
export function demoFlow(target: MailTarget): object[] {
  const tab = "demo-tab";
  // An alarm block between the buttons and the mail: it mails each new alarm once, and remembers an alarm that is
  // still active, so that a deploy or a restart (which presses the inject-once again) mails nothing new.
  const alarm = {
    id: "LT-201-HH",
    label: "Bassin 2 bacteria level high",
    topic: "LT-201",
    condition: "high",
    setpoint: 6,
    deadband: 0.5,
    onDelay: 0,
    offDelay: 0,
    priority: 1,
    ack: "auto",
  };
  const level = (id: string, name: string, value: number, y: number, once: boolean) => ({
    id,
    type: "inject",
    z: tab,
    name,
    props: [
      { p: "topic", vt: "str" },
      { p: "payload", v: String(value), vt: "num" },
    ],
    repeat: "",
    crontab: "",
    once,
    onceDelay: 3,
    topic: alarm.topic,
    x: 150,
    y,
    wires: [["demo-block"]],
  });
  return [
    {
      id: tab,
      type: "tab",
      label: "Alarm Mail demo",
      disabled: false,
      info:
        "Written by `npm start` (dev/start.ts) for the local capture server, or for the server that SMTP_HOST named " +
        "then. The server's login is stored as the references ${SMTP_USER} and ${SMTP_PASSWORD}, which Node-RED " +
        "fills from the environment when the node starts.\n\n" +
        "Your edits are kept; `npm start -- --reset` writes this demo again.",
    },
    {
      id: "demo-comment",
      type: "comment",
      z: tab,
      name: "Back to normal, then Simulate alarm: one mail per alarm",
      info:
        "Simulate alarm sends a level of 7.4 to the alarm block (setpoint 6): a new alarm, mailed once. It stays " +
        "active, so pressing it again, deploying or restarting mails nothing new; Back to normal (4.2) ends it. The " +
        "capture server shows each mail on its web page (the banner of `npm start` gives its address) and keeps it " +
        "under .dev/mail/.",
      x: 250,
      y: 60,
      wires: [],
    },
    level("demo-inject", "Simulate alarm", 7.4, 120, true),
    level("demo-normal", "Back to normal", 4.2, 160, false),
    {
      id: "demo-block",
      type: "alarm-mail-block",
      z: tab,
      name: "Bassin 2",
      block: 1,
      version: 1,
      alarms: [alarm],
      x: 360,
      y: 140,
      wires: [["demo-send"]],
    },
    {
      id: "demo-send",
      type: "alarm-mail-send",
      z: tab,
      name: "Mail the operators",
      server: SERVER_ID,
      recipients: "demo-recipients",
      events: ["trigger"],
      x: 570,
      y: 120,
      wires: [["demo-sent"], ["demo-failed"]],
    },
    {
      id: "demo-sent",
      type: "debug",
      z: tab,
      name: "Delivered",
      active: true,
      tosidebar: true,
      console: true,
      tostatus: false,
      complete: "mail",
      targetType: "msg",
      x: 790,
      y: 100,
      wires: [],
    },
    {
      id: "demo-failed",
      type: "debug",
      z: tab,
      name: "Failed",
      active: true,
      tosidebar: true,
      console: true,
      tostatus: false,
      complete: "error",
      targetType: "msg",
      x: 780,
      y: 140,
      wires: [],
    },
    {
      id: SERVER_ID,
      type: "alarm-mail-server",
      name: target.capture ? "Capture server (npm start)" : target.host,
      host: target.host,
      port: target.port,
      security: target.security,
      auth: target.auth,
      from: target.from,
      fromName: "Plant gateway (demo)",
      rejectUnauthorized: true,
      servername: "",
      connectionTimeout: 15000,
      socketTimeout: 60000,
    },
    {
      id: "demo-recipients",
      type: "alarm-mail-recipients",
      name: "Operators",
      to: target.to,
      cc: "",
      bcc: "",
      subject: "[{{alarm.priority}}] {{alarm.label}}",
      body: [
        "Alarm {{alarm.id}} ({{event}}): {{alarm.label}}",
        "Value {{alarm.value}}, setpoint {{alarm.setpoint}} ({{alarm.condition}}), priority {{alarm.priority}}, block {{alarm.block}}.",
        "Triggered at {{alarm.triggeredAt}}; mail composed at {{timestamp}}.",
        "",
        "Sent by the Alarm Mail demo flow (npm start).",
      ].join("\n"),
      html: [
        '<h2 style="color:#b00020">{{alarm.label}}</h2>',
        "<table>",
        '<tr><th align="left">Alarm</th><td>{{alarm.id}} ({{event}})</td></tr>',
        '<tr><th align="left">Value</th><td><b>{{alarm.value}}</b> (setpoint {{alarm.setpoint}}, {{alarm.condition}})</td></tr>',
        '<tr><th align="left">Priority</th><td>{{alarm.priority}}</td></tr>',
        '<tr><th align="left">Time</th><td>{{timestamp}}</td></tr>',
        "</table>",
      ].join("\n"),
    },
  ];
}
