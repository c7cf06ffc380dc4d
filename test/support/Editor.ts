import { mkdirSync } from "node:fs";
import { join, resolve } from "node:path";
import { chromium, type Browser, type BrowserContext, type Locator, type Page } from "playwright-core";
import { findChromium } from "../../nodes/lib/screenshot/Screenshotter";
import { USERS, type NodeRedProcess } from "./NodeRedProcess";

const ROOT = join(__dirname, "..", "..");
/**
 * Where the suite leaves its pictures of the editor: test-results/screenshots/ on every run (CI lists them), and
 * docs/screenshots/, which the README shows, only when `npm run screenshots` asks for it, so that a test run does not
 * rewrite the committed pictures.
 */
export const SCREENSHOTS = resolve(ROOT, process.env.ALARM_MAIL_SCREENSHOTS ?? join("test-results", "screenshots"));

export interface EditorOptions {
  /** The browser's language, which the editor follows when the user has not chosen one. */
  locale?: string;
  /** Log in as this user when the runtime has admin authentication. */
  user?: keyof typeof USERS;
}

/**
 * The Node-RED editor in Debian's Chromium, driven by Playwright as a user drives it: mouse and keyboard on the
 * palette, the workspace, the dialogs and the deploy button. Helpers read the editor's own state (RED.nodes) only to
 * check what the clicks did.
 */
export class Editor {
  private lastTabClick = 0;

  private constructor(
    readonly red: NodeRedProcess,
    private readonly browser: Browser,
    readonly context: BrowserContext,
    readonly page: Page,
  ) {}

  static async open(red: NodeRedProcess, options: EditorOptions = {}): Promise<Editor> {
    const executablePath = findChromium().path;
    if (!executablePath) throw new Error("the editor tests need Chromium: apt-get install chromium");
    const browser = await chromium.launch({ executablePath, args: ["--disable-gpu", "--disable-quic"] });
    const context = await browser.newContext({
      viewport: { width: 1440, height: 900 },
      locale: options.locale ?? "en-US",
      acceptDownloads: true,
    });
    const page = await context.newPage();
    const editor = new Editor(red, browser, context, page);
    try {
      await page.goto(red.url);
      if (options.user) {
        await page.locator("#node-dialog-login-username").waitFor({ timeout: 30_000 });
        await page.fill("#node-dialog-login-username", options.user);
        await page.fill("#node-dialog-login-password", USERS[options.user]);
        await page.click("#node-dialog-login-submit");
      }
      await page.waitForFunction(() => window.RED?.nodes?.getType?.("alarm-mail-send") !== undefined, undefined, {
        timeout: 30_000,
      });
      // The editor is ready for clicks once the palette shows the package and the loading spinner has gone.
      await page.locator(".red-ui-palette-node[data-palette-type='alarm-mail-send']").waitFor();
      await page.locator("#red-ui-loading-progress").waitFor({ state: "hidden" });
      return editor;
    } catch (err) {
      await editor.close();
      throw err;
    }
  }

  async close(): Promise<void> {
    await this.browser.close();
  }

  /** Drags a node type from the palette onto the workspace, drops it at (x, y) of the workspace, returns its id. */
  async drag(type: string, x: number, y: number): Promise<string> {
    const before = await this.nodeIds();
    const entry = this.page.locator(`.red-ui-palette-node[data-palette-type='${type}']`);
    await entry.scrollIntoViewIfNeeded();
    const from = await box(entry);
    const chart = await box(this.page.locator("#red-ui-workspace-chart"));
    await this.page.mouse.move(from.x + from.width / 2, from.y + from.height / 2);
    await this.page.mouse.down();
    await this.page.mouse.move(chart.x + x, chart.y + y, { steps: 12 });
    await this.page.mouse.up();
    await this.page.waitForFunction(
      (known) => window.RED.nodes.filterNodes({}).some((n) => !known.includes(n.id)),
      before,
    );
    const added = (await this.nodeIds()).filter((id) => !before.includes(id));
    if (added.length !== 1) throw new Error(`dragging ${type} added ${added.length} nodes`);
    return added[0];
  }

  /** Draws a wire from a node's output port to another node's input, as a user drags one. */
  async wire(from: string, to: string, output = 0): Promise<void> {
    const start = await box(this.node(from).locator(".red-ui-flow-port-output").nth(output));
    const end = await box(this.node(to).locator(".red-ui-flow-port-input"));
    await this.page.mouse.move(start.x + start.width / 2, start.y + start.height / 2);
    await this.page.mouse.down();
    await this.page.mouse.move(end.x + end.width / 2, end.y + end.height / 2, { steps: 12 });
    await this.page.mouse.up();
    await this.page.waitForFunction(
      ([source, target]) =>
        window.RED.nodes.filterLinks({ source: { id: source } }).some((l) => l.target.id === target),
      [from, to],
    );
  }

  /** Clicks the button of a node that has one, such as an inject. */
  async press(id: string): Promise<void> {
    await this.node(id).locator(".red-ui-flow-node-button").click();
  }

  /** The node on the workspace, as the SVG group the editor draws for it. */
  node(id: string): Locator {
    return this.page.locator(`g.red-ui-flow-node-group[id='${id}']`);
  }

  /** Opens a node's dialog with a double click, as a user does. */
  async edit(id: string): Promise<Locator> {
    await this.node(id).locator(".red-ui-flow-node").dblclick();
    return this.tray();
  }

  /** The open dialog (the topmost edit tray). */
  tray(): Locator {
    return this.page.locator(".red-ui-tray").last();
  }

  /**
   * Waits until the open dialog has slid all the way in and stopped moving (the tray slides in with a CSS
   * transition), for a picture without a half-slid tray. Returns the dialog.
   */
  async settled(): Promise<Locator> {
    const tray = this.tray();
    await tray.waitFor();
    await this.page.waitForFunction(() => {
      const trays = document.querySelectorAll<HTMLElement>(".red-ui-tray");
      const top = trays[trays.length - 1];
      return top !== undefined && getComputedStyle(top).right === "0px" && top.getAnimations().length === 0;
    });
    return tray;
  }

  /**
   * Opens a node's dialog with a double click, as edit() does, and double-clicks again when no dialog came (the
   * editor takes the clicks for two single ones when they are more than 650 ms apart, which a busy machine can make
   * them). Returns the dialog once it has slid in.
   */
  async openDialog(id: string): Promise<Locator> {
    for (let attempt = 1; ; attempt++) {
      try {
        await (await this.edit(id)).waitFor({ timeout: 5_000 });
        break;
      } catch (err) {
        if ((await this.tray().count()) > 0) break;
        if (attempt === 3) throw err;
      }
    }
    return this.settled();
  }

  /**
   * Opens a tab of the open dialog, such as the server dialog's Sender tab, and waits for its content. The editor's
   * tabs take a second click within 400 ms of the last one for a double click, which does not switch: clicks are
   * spaced as a person's are.
   */
  async tab(id: string): Promise<void> {
    const wait = this.lastTabClick + 450 - Date.now();
    if (wait > 0) await this.page.waitForTimeout(wait);
    await this.tray().locator(`#red-ui-tab-${id}`).click();
    this.lastTabClick = Date.now();
    await this.tray().locator(`#${id}`).waitFor();
  }

  /** Presses Done on the open dialog and waits for it to slide away. */
  done(): Promise<void> {
    return this.closeTray(".red-ui-tray-toolbar button.primary");
  }

  /** Presses Cancel on the open dialog and waits for it to slide away. */
  cancel(): Promise<void> {
    return this.closeTray(".red-ui-tray-toolbar button[id$='-cancel']");
  }

  private async closeTray(button: string): Promise<void> {
    const tray = await this.tray().elementHandle();
    if (!tray) throw new Error("no dialog is open");
    await tray.$eval(button, (el) => (el as HTMLElement).click());
    await tray.waitForElementState("hidden");
  }

  /** Is the field drawn with the editor's red validation mark? */
  async invalid(field: Locator): Promise<boolean> {
    return field.evaluate((el) => el.classList.contains("input-error"));
  }

  /** Is the node drawn with the red triangle of a node that is not properly configured? */
  async marked(id: string): Promise<boolean> {
    return this.node(id)
      .locator(".red-ui-flow-node-error")
      .evaluate((el) => !el.classList.contains("hide"));
  }

  /** Clicks Deploy and waits for the editor to say that it deployed. */
  async deploy(): Promise<void> {
    const invalid = await this.tryDeploy();
    if (invalid.length > 0) throw new Error(`the editor refuses to deploy without asking, for ${invalid.join(", ")}`);
  }

  /**
   * Clicks Deploy. When the editor asks to confirm a deploy of nodes that are not properly configured, answers
   * Cancel and returns the nodes it listed; an empty list means it deployed.
   */
  async tryDeploy(): Promise<string[]> {
    await this.page.click("#red-ui-header-button-deploy");
    const confirm = this.page.locator(".red-ui-notification").filter({ has: this.page.locator("button.primary") });
    await this.page.waitForFunction(
      () => !window.RED.nodes.dirty() || document.querySelector(".red-ui-notification button.primary") !== null,
    );
    if (!(await confirm.isVisible())) return [];
    const listed = await confirm.locator("li").allTextContents();
    // Its buttons: cancel, search for the invalid nodes (drawn on the left), and the primary one, confirm.
    await confirm.locator("button:not(.primary):not(.pull-left)").click();
    await confirm.waitFor({ state: "hidden" });
    if (!(await this.page.evaluate(() => window.RED.nodes.dirty()))) throw new Error("cancelling the deploy deployed");
    return listed;
  }

  /** The status text under a node, once the runtime has sent one that matches. */
  async status(id: string, expected: RegExp, timeout = 15_000): Promise<string> {
    const label = this.node(id).locator(".red-ui-flow-node-status-label");
    await label.filter({ hasText: expected }).waitFor({ timeout });
    return label.textContent().then((text) => text ?? "");
  }

  /**
   * Imports an example of this package through the main menu's Import > Examples into a new flow, as a user does,
   * and returns the ids of the nodes it put on that flow.
   */
  async importExample(name: string): Promise<string[]> {
    const page = this.page;
    await page.click("#red-ui-header-button-sidemenu");
    await page.click("#menu-item-import");
    const dialog = page.locator("#red-ui-clipboard-dialog");
    await dialog.locator("a[href='#red-ui-clipboard-dialog-import-tab-examples']").click();
    const entry = (label: string) =>
      dialog
        .locator("#red-ui-clipboard-dialog-import-tab-examples .red-ui-treeList-label")
        .filter({ hasText: new RegExp(`^\\s*${label.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")}\\s*$`) });
    const example = entry(name);
    if (!(await example.isVisible())) await entry("@alarm-mail/node-red").click();
    await example.click();
    await dialog.locator("#red-ui-clipboard-dialog-import-opt-new").click();
    const tabs = await page.evaluate(() => window.RED.nodes.filterNodes({}).length);
    await page.click("#red-ui-clipboard-dialog-ok");
    await dialog.waitFor({ state: "hidden" });
    const grown = (n: number) => window.RED.nodes.filterNodes({}).length > n;
    // The examples share the capture server's id: when it is already in the workspace Node-RED asks, and a copy
    // keeps that one server.
    const copy = page.getByRole("button", { name: "Import copy" });
    await Promise.race([page.waitForFunction(grown, tabs), copy.waitFor()]);
    if (await copy.isVisible()) await copy.click();
    await page.waitForFunction(grown, tabs);
    return page.evaluate(() => window.RED.nodes.filterNodes({ z: window.RED.workspaces.active() }).map((n) => n.id));
  }

  /**
   * Opens a tab of the sidebar as a user does, and returns the tab's content once it is the one shown. Node-RED 4 and
   * Node-RED 5 draw the sidebar differently; each has its own way in below.
   */
  async sidebar(tab: string): Promise<Locator> {
    return (await this.page.locator(".red-ui-sidebar-tab-bar").count()) > 0
      ? this.sidebarTabBar(tab)
      : this.sidebarTabs(tab);
  }

  /** Waits until the sidebar shows `tab`, however it was opened (a button, a menu entry), in Node-RED 4 or 5. */
  async sidebarShows(tab: string): Promise<void> {
    await this.page
      .locator(`#red-ui-tab-${tab}.active, .red-ui-sidebar-tab-bar button.selected[data-tab-id='${tab}']`)
      .first()
      .waitFor();
  }

  /** Whether the sidebar shows `tab` now. */
  async sidebarShown(tab: string): Promise<boolean> {
    const shown = this.page.locator(
      `#red-ui-tab-${tab}.active, .red-ui-sidebar-tab-bar button.selected[data-tab-id='${tab}']`,
    );
    return (await shown.count()) > 0;
  }

  /** Where the sidebar names its tabs: Node-RED 4's tab strip, or Node-RED 5's section banners. */
  async sidebarTabNames(): Promise<Locator> {
    const strip = this.page.locator("#red-ui-sidebar .red-ui-tabs").first();
    return (await strip.count()) > 0 ? strip : this.page.locator(".red-ui-sidebar-banner").filter({ visible: true });
  }

  /**
   * Node-RED 4: the tab's icon when the sidebar shows it, otherwise the sidebar's tab menu (the caret beside the
   * icons).
   */
  private async sidebarTabs(tab: string): Promise<Locator> {
    const page = this.page;
    const icon = page.locator(`#red-ui-tab-${tab}-link-button`);
    if (await icon.isVisible()) {
      await icon.click();
    } else {
      await page.click("#red-ui-sidebar .red-ui-tab-link-button-menu");
      await page.click(`#red-ui-tabs-menu-option-${tab}`);
    }
    await page.locator(`#red-ui-tab-${tab}.active`).waitFor();
    const content = page.locator("#red-ui-sidebar-content > div").filter({ visible: true });
    await content.waitFor();
    return content;
  }

  /**
   * Node-RED 5: one button per tab in the tab bar beside the workspace, or the bar's overflow menu (⋮) when the
   * button has no room. A click on the button of the tab already shown hides it, so a shown tab is left alone. The
   * content is that of the sidebar section whose banner names the tab.
   */
  private async sidebarTabBar(tab: string): Promise<Locator> {
    const page = this.page;
    const button = page.locator(`.red-ui-sidebar-tab-bar button[data-tab-id='${tab}']`);
    const name = (await button.getAttribute("aria-label")) ?? tab;
    if (!(await button.evaluate((el) => el.classList.contains("selected")))) {
      if (await button.isVisible()) {
        await button.click();
      } else {
        await page.click(".red-ui-sidebar-tab-bar-overflow-button");
        await page.locator("#red-ui-sidebar-tab-bar-menu a").filter({ hasText: name }).click();
      }
    }
    await page.locator(`.red-ui-sidebar-tab-bar button.selected[data-tab-id='${tab}']`).waitFor();
    const section = page.locator(".red-ui-sidebar-section").filter({
      has: page.locator(".red-ui-sidebar-banner-label").getByText(name, { exact: true }),
    });
    const content = section.locator(":scope > .red-ui-sidebar-content > div").filter({ visible: true });
    await content.waitFor();
    return content;
  }

  /** Saves a picture of an element (by default the open dialog) for the README. */
  async screenshot(name: string, target: Locator = this.tray()): Promise<string> {
    await this.leaveTooltips();
    const path = picturePath(name);
    await target.screenshot({ path, animations: "disabled" });
    return path;
  }

  /**
   * Moves the mouse to the header's logo, which has no tooltip, and waits for the editor's tooltips to go: a tab or
   * button the test last clicked keeps the pointer over it, and on a slow machine its tooltip (shown after a hover
   * delay) would stand in the picture over the dialog.
   */
  private async leaveTooltips(): Promise<void> {
    await this.page.mouse.move(1, 1);
    await this.page.waitForFunction(
      () => Array.from(document.querySelectorAll<HTMLElement>(".red-ui-popover")).every((p) => p.offsetParent === null),
      undefined,
      { timeout: 5000 },
    );
  }

  /** Saves a picture of the part of the workspace that shows these nodes, with their wires and statuses. */
  async screenshotNodes(name: string, ids: string[]): Promise<string> {
    await this.page.locator(".red-ui-notification").first().waitFor({ state: "detached" });
    const chart = await box(this.page.locator("#red-ui-workspace-chart"));
    // Scrolled back to the workspace's corner, as the nodes were placed near it.
    await this.page.mouse.move(chart.x + chart.width / 2, chart.y + chart.height / 2);
    await this.page.mouse.wheel(-2000, -2000);
    await this.page.waitForFunction(() => {
      const scroller = document.getElementById("red-ui-workspace-chart");
      return scroller !== null && scroller.scrollTop === 0 && scroller.scrollLeft === 0;
    });
    const boxes = await Promise.all(ids.map((id) => box(this.node(id))));
    // Room for an inject's button on the left and the status texts below and on the right; never the editor's chrome.
    const x = Math.max(chart.x, Math.min(...boxes.map((b) => b.x)) - 40);
    const y = Math.max(chart.y, Math.min(...boxes.map((b) => b.y)) - 24);
    const width = Math.max(...boxes.map((b) => b.x + b.width)) + 40 - x;
    const height = Math.max(...boxes.map((b) => b.y + b.height)) + 24 - y;
    const path = picturePath(name);
    await this.page.screenshot({ path, clip: { x, y, width, height }, animations: "disabled" });
    return path;
  }

  private nodeIds(): Promise<string[]> {
    return this.page.evaluate(() => window.RED.nodes.filterNodes({}).map((n) => n.id));
  }
}

function picturePath(name: string): string {
  mkdirSync(SCREENSHOTS, { recursive: true });
  return join(SCREENSHOTS, `${name}.png`);
}

async function box(locator: Locator): Promise<{ x: number; y: number; width: number; height: number }> {
  const found = await locator.boundingBox();
  if (!found) throw new Error(`${locator.toString()} is not on the screen`);
  return found;
}

/** The part of the editor's global API the tests read. */
interface EditorNode {
  id: string;
  type: string;
  valid?: boolean;
  [property: string]: unknown;
}
declare global {
  interface Window {
    RED: {
      nodes: {
        getType(type: string): object | undefined;
        node(id: string): EditorNode | null;
        filterNodes(filter: { type?: string; z?: string }): EditorNode[];
        filterLinks(filter: { source?: { id: string } }): Array<{ target: EditorNode }>;
        eachConfig(visit: (node: EditorNode) => void): void;
        dirty(): boolean;
      };
      editor: { edit(node: EditorNode): void };
      workspaces: { active(): string };
    };
  }
}
