// "Use my location": fills latitude and longitude from the browser's Geolocation.
// Progressive enhancement: the button is hidden in the HTML and shown only where the browser
// can locate; without JavaScript the form works as before (coordinates typed, or none).
(function () {
  "use strict";
  var button = document.getElementById("use-location");
  var lat = document.getElementById("lat");
  var long = document.getElementById("long");
  var status = document.getElementById("location-status");
  if (!button || !lat || !long || !("geolocation" in navigator)) { return; }
  button.hidden = false;
  function say(text) { if (status) { status.textContent = text; } }
  button.addEventListener("click", function () {
    button.disabled = true;
    say(button.dataset.busy);
    navigator.geolocation.getCurrentPosition(function (position) {
      lat.value = position.coords.latitude.toFixed(6);
      long.value = position.coords.longitude.toFixed(6);
      button.disabled = false;
      say(button.dataset.done.replace("{metres}", Math.round(position.coords.accuracy)));
    }, function () {
      button.disabled = false;
      say(button.dataset.failed);
    }, {enableHighAccuracy: true, timeout: 15000, maximumAge: 60000});
  });
}());
