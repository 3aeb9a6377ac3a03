// postMessage vocabulary between the loader (host page) and the frame (iframe).
// Both sides always name the target origin and check event.origin and
// event.source before looking at a message. Nothing secret ever crosses:
// the visitor token stays inside the frame's origin.
//
// loader -> frame
//   sb:init  {open, url, title}     once, after sb:ready
//   sb:open  {focus}                the window is shown
//   sb:close                        the window is hidden
//   sb:page  {url, title}           the host page navigated (SPA included)
//   sb:call  {method, args}         identify | setAttributes | setLocale | send | reset
// frame -> loader
//   sb:ready                        listening
//   sb:open / sb:close              the visitor opened (peek card) or closed the window
//   sb:config {color, position, labels: [open, close]}
//   sb:unread {count, title, quiet} unread agent messages; title is the text for the tab title
//   sb:peek  {h}                    show the peek card this tall (0 hides it)
//   sb:ev    {name, data}           an event for Switchboard.on handlers

export interface WidgetMsg {
  type: string;
  [k: string]: unknown;
}

export function isMsg(d: unknown): d is WidgetMsg {
  return typeof d === 'object' && d !== null && typeof (d as WidgetMsg).type === 'string' &&
    (d as WidgetMsg).type.slice(0, 3) === 'sb:';
}
