// Posts the Deep Linking response back to the LMS at once (the button is the no-script way).
document.addEventListener("DOMContentLoaded", () => {
  const form = document.querySelector("form[data-autosubmit]");
  if (form) form.submit();
});
