// Resumable footage uploads: tus-js-client (loaded before this module as window.tus) behind a
// GOV.UK-styled file list. Without JavaScript the same form posts the files in one request.
const RETRY_DELAYS = [0, 1000, 3000, 5000, 10000, 20000, 30000, 60000, 120000];
const STATUS = {
  waiting: ["Waiting", "govuk-tag--grey"],
  uploading: ["Uploading", "govuk-tag--light-blue"],
  offline: ["Waiting for a connection", "govuk-tag--yellow"],
  checking: ["Checking", "govuk-tag--blue"],
  uploaded: ["Uploaded", "govuk-tag--green"],
  failed: ["Stopped", "govuk-tag--red"],
  refused: ["Not accepted", "govuk-tag--red"],
};
// A file can be tried again once it has stopped, and cancelled until its last byte is sent: after that
// it is evidence, kept whatever happens on this page.
const CAN_RETRY = ["failed"];
const CAN_CANCEL = ["waiting", "uploading", "offline", "failed"];
const SHOWS_PROGRESS = ["waiting", "uploading", "offline", "checking", "failed"];

function formatSize(bytes) {
  const units = ["bytes", "KB", "MB", "GB"];
  let size = bytes;
  let unit = 0;
  while (size >= 1000 && unit < units.length - 1) {
    size /= 1000;
    unit += 1;
  }
  return unit === 0 ? `${size} bytes` : `${size.toFixed(size < 10 ? 1 : 0)} ${units[unit]}`;
}

// Per submission, so the same file sent for two appeals never resumes the wrong upload.
function fingerprintOf(reference, file) {
  return ["app-upload", reference, file.name, file.type, file.size, file.lastModified].join("/");
}

function urlStorage() {
  return window.tus.defaultOptions.urlStorage;
}

function element(tag, className, text) {
  const node = document.createElement(tag);
  if (className) node.className = className;
  if (text !== undefined) node.textContent = text;
  return node;
}

class FileRow {
  constructor(uploader, file) {
    this.uploader = uploader;
    this.file = file;
    this.fingerprint = fingerprintOf(uploader.options.reference, file);
    this.announced = -1;
    this.state = "waiting";
    this.node = element("li", "app-uploader__file");
    const name = element("p", "govuk-body govuk-!-font-weight-bold govuk-!-margin-bottom-1 app-uploader__name", file.name);
    this.tag = element("strong", "govuk-tag");
    this.progress = element("progress", "app-uploader__progress");
    this.progress.max = 100;
    this.progress.value = 0;
    this.progress.setAttribute("aria-label", `Upload progress for ${file.name}`);
    this.detail = element("p", "govuk-body-s govuk-!-margin-bottom-1 app-uploader__detail");
    this.message = element("p", "govuk-error-message app-uploader__message");
    this.actions = element("p", "govuk-body-s app-uploader__actions");
    // The file's name is in each button's accessible name, after the words on the button (WCAG 2.5.3).
    this.retryButton = this.button("Try again", `uploading ${file.name}`, () => this.start());
    this.cancelButton = this.button("Cancel", `uploading ${file.name}`, () => this.cancel());
    const meta = element("p", "govuk-body-s govuk-!-margin-bottom-1");
    meta.append(`${formatSize(file.size)} `, this.tag);
    this.node.append(name, meta, this.progress, this.detail, this.message, this.actions);
    this.actions.append(this.retryButton, " ", this.cancelButton);
    this.setState("waiting");
  }

  button(text, hiddenText, action) {
    const button = element("button", "govuk-button govuk-button--secondary govuk-!-margin-bottom-0", text);
    button.type = "button";
    button.append(element("span", "govuk-visually-hidden", ` ${hiddenText}`));
    button.addEventListener("click", action);
    return button;
  }

  setState(state, message = "", detail) {
    this.state = state;
    const [label, colour] = STATUS[state];
    this.tag.className = `govuk-tag ${colour}`;
    this.tag.textContent = label;
    this.retryButton.hidden = !CAN_RETRY.includes(state);
    this.cancelButton.hidden = !CAN_CANCEL.includes(state);
    this.cancelButton.disabled = false;
    this.actions.hidden = this.retryButton.hidden && this.cancelButton.hidden;
    this.progress.hidden = !SHOWS_PROGRESS.includes(state);
    if (detail !== undefined) this.detail.textContent = detail;
    this.detail.hidden = !this.detail.textContent;
    this.message.hidden = !message;
    this.message.textContent = message;
    this.uploader.changed();
  }

  get active() {
    return ["waiting", "uploading", "offline", "checking"].includes(this.state);
  }

  start() {
    const { endpoint, token, chunkSize } = this.uploader.options;
    this.setState("uploading");
    this.upload = new window.tus.Upload(this.file, {
      endpoint,
      chunkSize,
      retryDelays: RETRY_DELAYS,
      headers: { Authorization: `Bearer ${token}` },
      metadata: { filename: this.file.name, filetype: this.file.type },
      storeFingerprintForResuming: true,
      removeFingerprintOnSuccess: true,
      fingerprint: () => Promise.resolve(this.fingerprint),
      onShouldRetry: (error) => {
        const status = error.originalResponse ? error.originalResponse.getStatus() : 0;
        // Not 429: trying again at once only counts against the limit; the witness is told how long to wait.
        const transient = status === 0 || status >= 500 || [409, 423].includes(status);
        return transient && navigator.onLine;
      },
      onProgress: (sent, total) => this.progressed(sent, total),
      onSuccess: () => {
        this.setState("uploaded", "", `${formatSize(this.file.size)} received.`);
        this.uploader.announce(`${this.file.name} uploaded.`);
        this.uploader.showUnfinished();
      },
      onError: (error) => this.failed(error),
    });
    const upload = this.upload;
    upload.findPreviousUploads().then((previous) => {
      if (upload !== this.upload) return; // cancelled before it began
      if (previous.length) upload.resumeFromPreviousUpload(previous[0]);
      upload.start();
      this.uploader.showUnfinished();
    });
  }

  progressed(sent, total) {
    if (!SHOWS_PROGRESS.includes(this.state)) return;
    const percent = total ? Math.floor((sent / total) * 100) : 0;
    this.progress.value = percent;
    const detail = `${percent}% uploaded (${formatSize(sent)} of ${formatSize(total)})`;
    if (sent === total) {
      this.setState("checking", "", `${detail}. Checking the file.`);
    } else {
      this.setState("uploading", "", detail);
    }
    const step = Math.floor(percent / 10);
    if (step > this.announced) {
      this.announced = step;
      this.uploader.announce(`${this.file.name}: ${percent}% uploaded.`);
    }
  }

  failed(error) {
    if (!navigator.onLine) {
      this.setState("offline");
      this.uploader.announce(`${this.file.name}: waiting for a connection. It will carry on by itself.`);
      return;
    }
    const response = error.originalResponse;
    const body = response ? response.getBody() : "";
    const status = response ? response.getStatus() : 0;
    if (status === 429 && body) {
      // Too many uploads from this connection: nothing is wrong with the file, so it can be tried again later.
      this.setState("failed", body);
      this.uploader.announce(`${this.file.name} stopped: ${body}`);
      return;
    }
    if (status >= 400 && status < 500 && body) {
      // The server refused this file (type, size, duplicate, too many): trying again would not help.
      this.refuse(`${body} We have not kept it.`);
      this.forget().then(() => this.uploader.showUnfinished());
      return;
    }
    const message = "The upload stopped. Check your connection, then choose Try again. Your information has already been sent.";
    this.setState("failed", message);
    this.uploader.announce(`${this.file.name} stopped: ${message}`);
  }

  refuse(message) {
    this.upload = null;
    this.setState("refused", message, "");
    this.uploader.announce(`${this.file.name} not accepted. ${message}`);
  }

  // A refused file can never resume: forget it, so the page does not ask for it again.
  forget() {
    return urlStorage()
      .findUploadsByFingerprint(this.fingerprint)
      .then((uploads) => Promise.all(uploads.map((upload) => urlStorage().removeUpload(upload.urlStorageKey))))
      .catch(() => {});
  }

  resumeWhenOnline() {
    if (this.state === "offline") this.start();
  }

  cancel() {
    const upload = this.upload;
    this.upload = null;
    this.cancelButton.disabled = true;
    // Ends the upload on the server too, and forgets it here, unless its last byte is already in.
    const ended = upload ? upload.abort(true) : Promise.resolve();
    ended.then(
      () => {
        this.node.remove();
        this.uploader.removeRow(this);
        this.uploader.announce(`${this.file.name}: upload cancelled. It was not sent.`);
      },
      (error) => {
        const response = error.originalResponse;
        if (response && response.getStatus() === 403) {
          this.setState("uploaded", "", response.getBody());
          this.uploader.announce(`${this.file.name} was received before it could be cancelled. ${response.getBody()}`);
        } else {
          this.upload = upload;
          const message = "We could not cancel the upload. Check your connection, then choose Cancel again.";
          this.setState("failed", message);
          this.uploader.announce(`${this.file.name}: ${message}`);
        }
      },
    );
  }
}

class Uploader {
  constructor(root) {
    this.root = root;
    this.options = {
      endpoint: root.dataset.endpoint,
      token: root.dataset.token,
      reference: root.dataset.reference,
      chunkSize: Number(root.dataset.chunkSize),
    };
    this.rows = [];
    this.input = root.querySelector("input[type=file]");
    this.list = root.querySelector(".app-uploader__list");
    this.files = root.querySelector(".app-uploader__files");
    this.total = root.querySelector(".app-uploader__total");
    this.status = root.querySelector(".app-uploader__status");
    this.label = root.querySelector("label[for=files]");
    this.resume = root.querySelector(".app-uploader__resume");
    root.querySelector(".app-uploader__submit").hidden = true;
    root.querySelector(".app-uploader__nojs-limit").hidden = true;
    root.querySelector("form").addEventListener("submit", (event) => event.preventDefault());
    this.input.addEventListener("change", () => this.add(Array.from(this.input.files)));
    window.addEventListener("online", () => this.rows.forEach((row) => row.resumeWhenOnline()));
    window.addEventListener("beforeunload", (event) => {
      if (this.rows.some((row) => row.active)) {
        event.preventDefault();
        event.returnValue = "";
      }
    });
    document.addEventListener("visibilitychange", () => this.holdWakeLock());
    this.showUnfinished();
  }

  // Files from an earlier visit that stopped part-way: tus-js-client keeps each one under
  // "tus::<fingerprint>::<random>", so they can carry on when chosen again.
  showUnfinished() {
    const prefix = `tus::app-upload/${this.options.reference}/`;
    const onPage = this.rows.filter((row) => row.state !== "refused").map((row) => `tus::${row.fingerprint}::`);
    urlStorage()
      .findAllUploads()
      .then((uploads) => {
        const names = uploads
          .filter((upload) => (upload.urlStorageKey || "").startsWith(prefix))
          .filter((upload) => !onPage.some((key) => upload.urlStorageKey.startsWith(key)))
          .map((upload) => (upload.metadata && upload.metadata.filename) || "A file");
        this.showResume([...new Set(names)]);
      });
  }

  showResume(names) {
    this.resume.hidden = !names.length;
    if (names.length === 1) {
      this.resume.replaceChildren(
        element("p", "govuk-body", `${names[0]} did not finish uploading. Choose it again and it carries on from where it stopped.`),
      );
    } else if (names.length) {
      const list = element("ul", "govuk-list govuk-list--bullet");
      list.append(...names.map((name) => element("li", "", name)));
      this.resume.replaceChildren(
        element("p", "govuk-body", "These files did not finish uploading. Choose them again and they carry on from where they stopped:"),
        list,
      );
    }
  }

  add(files) {
    for (const file of files) {
      const row = new FileRow(this, file);
      this.list.append(row.node);
      const same = this.rows.find((other) => other.fingerprint === row.fingerprint && other.state !== "refused");
      this.rows.push(row);
      if (same) {
        row.refuse("You have already chosen this file above, so it is not sent twice.");
      } else if (file.size === 0) {
        row.refuse(`${file.name} is empty, so it was not sent.`);
      } else {
        row.start();
      }
    }
    // Clearing the input lets the same control add another file, and choosing a file again resume it.
    this.input.value = "";
    this.label.textContent = "Add another file";
    this.files.hidden = false;
    this.changed();
  }

  removeRow(row) {
    this.rows = this.rows.filter((other) => other !== row);
    this.changed();
  }

  changed() {
    if (!this.total) return;
    const sending = this.rows.filter((row) => row.state !== "refused");
    const bytes = sending.reduce((sum, row) => sum + row.file.size, 0);
    const count = sending.length;
    this.total.textContent = count
      ? `${count} file${count === 1 ? "" : "s"}, ${formatSize(bytes)} in total.` +
        (bytes > 100e6 ? " Large files can use a lot of mobile data: use Wi-Fi if you can." : "")
      : "";
    this.holdWakeLock();
  }

  announce(text) {
    this.status.textContent = text;
  }

  // Keep a phone's screen on while files upload: many phones pause a page whose screen has gone off.
  async holdWakeLock() {
    const wanted = this.rows.some((row) => row.active) && document.visibilityState === "visible";
    if (!("wakeLock" in navigator)) return;
    if (wanted && !this.wakeLock) {
      try {
        this.wakeLock = await navigator.wakeLock.request("screen");
        this.wakeLock.addEventListener("release", () => {
          this.wakeLock = null;
        });
      } catch {
        this.wakeLock = null;
      }
    } else if (!wanted && this.wakeLock) {
      const lock = this.wakeLock;
      this.wakeLock = null;
      lock.release();
    }
  }
}

if (window.tus && window.tus.isSupported) {
  document.querySelectorAll("[data-module=app-uploader]").forEach((root) => new Uploader(root));
}
